"""The run journal: an append-only JSON Lines file per run, and the run's lock.

    <runs dir>/<run id>/journal.jsonl   one event per line, secrets redacted
    <runs dir>/<run id>/playbook.yaml   the playbook text the run uses (resume reads it)
    <runs dir>/<run id>/lock            flock held while a process drives the run

An event is written before the runner acts on it; the start of a write step is
flushed to disk before its request is sent, so a crash can only ever leave a
"started, no outcome" trace, which resume treats as in doubt. A run whose journal
has no final event and whose lock is free was interrupted (its process died).
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from soarpack.errors import RunStateError
from soarpack.ingest.identity import state_dir
from soarpack.redact import redact_data

RUNS_DIR_ENV = "SOARPACK_RUNS_DIR"
JOURNAL = "journal.jsonl"
PLAYBOOK_COPY = "playbook.yaml"
LOCK = "lock"


def runs_dir(
    explicit: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Path:
    """--runs-dir, else $SOARPACK_RUNS_DIR, else <state dir>/runs."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if env.get(RUNS_DIR_ENV):
        return Path(env[RUNS_DIR_ENV]).expanduser()
    return state_dir(None, env) / "runs"


def new_run_id() -> str:
    """Sortable by start time, unique without coordination."""
    now = time.time()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f"{int(now % 1 * 1000):03d}"
    return f"{stamp}-{secrets.token_hex(3)}"


@dataclass(frozen=True)
class RunFiles:
    root: Path
    run_id: str

    @property
    def folder(self) -> Path:
        return self.root / self.run_id

    @property
    def journal(self) -> Path:
        return self.folder / JOURNAL

    @property
    def playbook(self) -> Path:
        return self.folder / PLAYBOOK_COPY

    @property
    def lock(self) -> Path:
        return self.folder / LOCK

    def exists(self) -> bool:
        return self.journal.is_file()


def run_files(run_id: str, root: Path) -> RunFiles:
    if not run_id or "/" in run_id or run_id.startswith("."):
        raise RunStateError(f"{run_id!r} is not a run id.")
    files = RunFiles(root, run_id)
    if not files.exists():
        raise RunStateError(
            f"No run {run_id} in {root}.", hint="`soarpack runs list` shows the runs there."
        )
    return files


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every complete event; a torn last line (crash mid-write) is ignored."""
    events: list[dict[str, Any]] = []
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.endswith(b"\n"):
                break
            try:
                events.append(json.loads(raw))
            except ValueError:
                break
    return events


class RunLock:
    """An exclusive flock on the run's lock file: the OS drops it when the process dies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunStateError(
                f"The run in {self.path.parent} is being driven by {holder}."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None

    @staticmethod
    def held(path: Path) -> bool:
        """Whether a live process holds the lock (a dead one's lock is free)."""
        if not path.exists():
            return False
        with path.open("a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False


class Journal:
    """Appends redacted events to a run's journal, one line each, thread-safe."""

    def __init__(self, files: RunFiles) -> None:
        self.files = files
        self._lock = threading.Lock()
        files.folder.mkdir(parents=True, exist_ok=True)
        self._handle = files.journal.open("a", encoding="utf-8")

    def encode(self, event: dict[str, Any]) -> str:
        """One redacted JSON line (done outside any lock: it is the costly part)."""
        return json.dumps(
            redact_data(event), ensure_ascii=False, default=str, separators=(",", ":")
        )

    def write(self, line: str, *, sync: str = "flush") -> None:
        """Append a line. sync: "buffer" may wait in the process (a read's progress: if
        lost, the read runs again), "flush" hands it to the OS (survives kill -9),
        "fsync" waits until it is on disk (before a write is sent)."""
        with self._lock:
            self._handle.write(line + "\n")
            if sync != "buffer":
                self._handle.flush()
            if sync == "fsync":
                os.fsync(self._handle.fileno())

    def append(self, event: dict[str, Any], *, durable: bool = False) -> dict[str, Any]:
        """Encode and write one event, flushed (fsync'ed when `durable`)."""
        self.write(self.encode(event), sync="fsync" if durable else "flush")
        return event

    def close(self) -> None:
        with self._lock:
            self._handle.close()


def append_event(files: RunFiles, event: dict[str, Any]) -> None:
    """One event from outside the run's process (an approval decision)."""
    journal = Journal(files)
    try:
        journal.append(event, durable=True)
    finally:
        journal.close()
