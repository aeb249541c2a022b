"""The run journal: an append-only JSON Lines file per run, and the run's lock.

    <runs dir>/<run id>/journal.jsonl   one event per line, secrets redacted
    <runs dir>/<run id>/playbook.yaml   the playbook text the run uses (resume reads it)
    <runs dir>/<run id>/lock            flock held while a process drives the run

An event is written before the runner acts on it; the start of a write step is
flushed to disk before its request is sent, so a crash can only ever leave a
"started, no outcome" trace, which resume treats as in doubt. A run whose journal
has no final event and whose lock is free was interrupted (its process died).

Two locks, both flock (the OS drops them when the holder dies, and the server's
threads, the CLI and the Python API on a shared runs dir all see them):

    the drive lock   `lock`, held for a whole drive: one driver per run. Never waited
                     for: a second driver is refused at once with the holder's pid,
                     which the holder writes into the file.
    the append lock  the journal file itself, held for one append (or one read and
                     the append it decides): every appender takes it, the driver too.

A decision (approve, reject) is a read and an append under the append lock only, so a
person can decide while a drive is going on (a run pauses when its drive has nothing
left to do, and other branches may still be running when a step starts to wait). What
the driver itself decides about a waiting step (its approval timed out, the run
failed) it writes only after looking, under the same lock, for a decision that came
from outside since it read the journal (`write_unless_decided`): the person's word
wins, and the next resume folds it in. Lines are whole when the append lock is free:
"buffer" lines wait in the process, never half on disk, and a line torn by a writer
that died is cut off before anyone appends after it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from soarpack.config import state_dir
from soarpack.errors import RunBusyError, RunStateError, SoarpackError
from soarpack.redact import redact_data

RUNS_DIR_ENV = "SOARPACK_RUNS_DIR"
JOURNAL = "journal.jsonl"
PLAYBOOK_COPY = "playbook.yaml"
LOCK = "lock"
# How long an append waits for another appender (appends take milliseconds at most).
APPEND_WAIT = 10.0
# How long a refused driver waits for the holder to write its pid, so it can name it.
HOLDER_WAIT = 0.25
# "buffer" lines kept in the process stay under half the handle's buffer, so the OS
# never sees a line cut in two outside the append lock.
_BUFFER_BYTES = 1 << 20
_DECISIONS = ("approved", "rejected")
_PID = re.compile(r"pid (\d+)")


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
    """The drive lock: an exclusive flock on the run's lock file, never waited for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise RunBusyError naming the holder's pid (within 5 ms)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        # A few 1 ms tries: `runs list` holds the lock for microseconds to see whether
        # a driver does, and a new holder writes its pid just after taking it; neither
        # must read as a driver. A real drive outlasts them: refused at once.
        for _ in range(5):
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.001)
                continue
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
            self._handle = handle
            return
        handle.close()
        raise RunBusyError(self.path.parent.name, _holder(self.path, wait=HOLDER_WAIT))

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
    """Appends redacted events to a run's journal, one line each, thread-safe, each
    append under the append lock (see the module docstring)."""

    def __init__(self, files: RunFiles) -> None:
        self.files = files
        self._lock = threading.RLock()
        self._depth = 0  # nesting of `locked()` in the thread that holds it
        files.folder.mkdir(parents=True, exist_ok=True)
        self._handle = files.journal.open("a+", encoding="utf-8", buffering=_BUFFER_BYTES)
        self._buffered = 0  # bytes (at most) of "buffer" lines not yet handed to the OS
        self._seen = 0  # the offset up to which outside decisions were looked for
        self.decided_outside: set[str] = set()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the append lock: this process's other threads and every other
        appender wait (re-entrant within the holding thread)."""
        with self._lock:
            if self._depth == 0:
                _flock(self._handle, self.files)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(self._handle, fcntl.LOCK_UN)

    def read(self) -> list[dict[str, Any]]:
        """Every event so far, read under the append lock (a line torn by a writer that
        died is cut off first); outside decisions are looked for from here on."""
        with self.locked():
            self._handle.flush()
            self._seen = _trim_torn(self._handle.fileno())
            return read_events(self.files.journal)

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
            size = 4 * len(line) + 1  # an upper bound of its UTF-8 length
            if sync == "buffer" and self._buffered + size < _BUFFER_BYTES // 2:
                self._handle.write(line + "\n")
                self._buffered += size
                return
            # `locked()` inlined: this runs for every event a run flushes.
            if self._depth == 0:
                _flock(self._handle, self.files)
            try:
                self._handle.write(line + "\n")
                self._handle.flush()
                self._buffered = 0
                if sync == "fsync":
                    os.fsync(self._handle.fileno())
            finally:
                if self._depth == 0:
                    fcntl.flock(self._handle, fcntl.LOCK_UN)

    def write_unless_decided(self, line: str, step: str, *, sync: str = "flush") -> bool:
        """Append the runner's own decision on waiting `step`, unless a person's decision
        on it was appended from outside since `read()`; returns whether it was written."""
        with self.locked():
            self._look_outside()
            if step in self.decided_outside:
                return False
            self.write(line, sync=sync)
            return True

    def _look_outside(self) -> None:
        fd = self._handle.fileno()
        end = os.fstat(fd).st_size
        while self._seen < end:
            chunk = os.pread(fd, min(end - self._seen, 1 << 20), self._seen)
            whole = chunk.rfind(b"\n") + 1
            if whole == 0:
                break  # one line longer than the chunk: nothing of it can be a decision
            for raw in chunk[:whole].splitlines():
                if b'"ev":"approved"' in raw or b'"ev":"rejected"' in raw:
                    event = json.loads(raw)
                    if event.get("ev") in _DECISIONS:
                        self.decided_outside.add(str(event.get("step")))
            self._seen += whole

    def append(self, event: dict[str, Any], *, durable: bool = False) -> dict[str, Any]:
        """Encode and write one event, flushed (fsync'ed when `durable`)."""
        self.write(self.encode(event), sync="fsync" if durable else "flush")
        return event

    def close(self) -> None:
        with self._lock:
            if self._buffered:
                with self.locked():
                    self._handle.flush()
            self._handle.close()


@contextlib.contextmanager
def deciding(files: RunFiles) -> Iterator[tuple[Journal, list[dict[str, Any]]]]:
    """The journal's events and the journal to append to, under the append lock the
    whole time: a decision checked against the events is appended before anyone else
    can append (an approval, a mark, another process's driver)."""
    journal = Journal(files)
    try:
        with journal.locked():
            yield journal, journal.read()
    finally:
        journal.close()


def _flock(handle: IO[str], files: RunFiles) -> None:
    """The append lock, waited for up to APPEND_WAIT seconds."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return
    except BlockingIOError:
        pass
    deadline = time.monotonic() + APPEND_WAIT
    pause = 0.0005
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise RunBusyError(files.run_id, _holder(files.lock)) from None
            time.sleep(pause)
            pause = min(pause * 2, 0.01)


def _holder(path: Path, wait: float = 0.0) -> int | None:
    """The pid the lock's holder wrote. A new holder truncates, then writes its pid: on a
    loaded machine it can be descheduled in between, so a refused caller looks again for
    up to `wait` seconds rather than name no one."""
    deadline = time.monotonic() + wait
    while True:
        try:
            found = _PID.search(path.read_text(encoding="utf-8"))
        except OSError:
            return None
        if found:
            return int(found.group(1))
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.005)


def _trim_torn(fd: int) -> int:
    """Cut a torn last line (its writer died mid-line) so that appends start on a line
    of their own; returns the journal's length. Only under the append lock."""
    end = os.fstat(fd).st_size
    cut = end
    while cut > 0:
        start = max(0, cut - (1 << 16))
        found = os.pread(fd, cut - start, start).rfind(b"\n")
        if found >= 0:
            cut = start + found + 1
            break
        cut = start
    if cut != end:
        os.ftruncate(fd, cut)
    return cut


def error_data(error: SoarpackError) -> dict[str, Any]:
    """An error as journal data: its class, kind, message and context attributes."""
    data = error.to_dict()
    data.setdefault("type", type(error).__name__)
    return data
