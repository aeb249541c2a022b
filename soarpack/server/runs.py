"""Playbook runs the server drives in background threads.

`start` returns as soon as the run has an id (its first journal event), or raises
what stopped it before it began (bad inputs, an invalid playbook): those are the
caller's to see synchronously. A decision on an approval resumes the run in the
background; when one arrives while the run is still being driven, the run is
resumed again once that drive pauses, so no decision waits for another.

Runs are locked like any other (soarpack/playbook/journal.py): when the CLI or the
Python API drives a run on the same runs dir, the server's resume of it is refused
at once (RunBusyError, logged) and the run stays resumable; a decision is recorded
all the same, under the journal's append lock.

On shutdown, runs get a grace period to reach a pause point (waiting, finished);
what is still going after it stays resumable from its journal (`soarpack run
--resume RUN`), like a run whose process stopped.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from soarpack import errors
from soarpack.engine import Engine
from soarpack.errors import shortened
from soarpack.manifest import ActionSpec
from soarpack.pack import Pack
from soarpack.playbook.journal import RunFiles
from soarpack.playbook.model import Playbook
from soarpack.playbook.session import resume_run, run_playbook
from soarpack.playbook.validate import find_playbook, load_playbook
from soarpack.server.errors import NotFound, ServiceUnavailable

log = logging.getLogger("soarpack.server.runs")

# Names only: a caller must never make the server read a playbook by path.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def playbook_path(pack: Pack, name: str) -> Path:
    """The pack's playbook of that name, or NotFound."""
    path = pack.playbooks_dir / f"{name}.yaml"
    if not _NAME.match(name) or not path.is_file():
        raise NotFound(f"Unknown playbook {shortened(repr(name))}.")
    return path


def actions_used(book: Playbook, pack: Pack) -> dict[str, ActionSpec]:
    """Every action the playbook may run, its sub-playbooks' included."""
    found: dict[str, ActionSpec] = {}
    seen: set[Path] = set()
    pending = [book]
    while pending:
        current = pending.pop()
        seen.add(current.path.resolve())
        for step in current.steps.values():
            if step.spec.action is not None:
                found[step.spec.action] = pack.action(step.spec.action)
            elif step.spec.playbook is not None:
                path = find_playbook(step.spec.playbook, pack, current.path.parent)
                if path.resolve() not in seen:
                    pending.append(load_playbook(path, pack))
    return found


def run_exists(root: Path, run_id: str) -> bool:
    return bool(_RUN_ID.match(run_id)) and RunFiles(root, run_id).exists()


def playbook_of_run(root: Path, run_id: str) -> str:
    """The playbook a run runs, as its first journal event names it ("" if unreadable):
    what a key's `playbooks` patterns are matched against to see or decide the run."""
    with RunFiles(root, run_id).journal.open("rb") as handle:
        first = handle.readline()
    try:
        event = json.loads(first)
    except ValueError:
        return ""
    name = event.get("playbook") if isinstance(event, dict) else None
    return name if isinstance(name, str) else ""


class RunManager:
    """Starts and resumes runs on background threads and keeps track of them."""

    def __init__(self, engine: Engine, runs_dir: Path) -> None:
        self.engine = engine
        self.runs_dir = runs_dir
        self._lock = threading.Lock()
        self._driving: dict[str, threading.Thread] = {}
        self._again: set[str] = set()
        self._closing = False

    def start(self, playbook: Path, inputs: dict[str, Any], dry_run: bool) -> str:
        """Start a run; returns its id once it has one (blocks: call from a worker thread)."""
        begun = threading.Event()
        outcome: dict[str, Any] = {}

        def on_event(event: dict[str, Any]) -> None:
            if event.get("ev") == "run_started" and not begun.is_set():
                run_id = str(event["run_id"])
                with self._lock:
                    self._driving[run_id] = threading.current_thread()
                outcome["run_id"] = run_id
                begun.set()

        def drive() -> None:
            try:
                run_playbook(
                    playbook,
                    inputs,
                    engine=self.engine,
                    runs_dir_path=self.runs_dir,
                    dry_run=dry_run,
                    on_event=on_event,
                )
            except BaseException as exc:
                if not begun.is_set():
                    outcome["error"] = exc
                    begun.set()
                    return
                log.exception("run %s stopped on an error", outcome.get("run_id"))
            finally:
                if "run_id" in outcome:
                    self._ended(outcome["run_id"])

        self._launch(drive, "soarpack-run")
        begun.wait()
        error = outcome.get("error")
        if error is not None:
            raise error
        return str(outcome["run_id"])

    def resume(self, run_id: str) -> None:
        """Go on with a run after a decision: now, or when its current drive pauses."""
        with self._lock:
            if self._closing:
                log.warning("run %s not resumed: the server is stopping", run_id)
                return
            if run_id in self._driving:
                self._again.add(run_id)
                return
            thread = self._launch(lambda: self._resume(run_id), "soarpack-resume", start=False)
            self._driving[run_id] = thread
        thread.start()

    def _resume(self, run_id: str) -> None:
        try:
            result = resume_run(run_id, engine=self.engine, runs_dir_path=self.runs_dir)
            log.info("run %s resumed: %s", run_id, result.status)
        except errors.RunBusyError as exc:
            log.info("run %s not resumed here: %s", run_id, exc)
        except errors.SoarpackError as exc:
            log.warning("run %s could not be resumed: %s", run_id, exc)
        except Exception:
            log.exception("run %s stopped on an error", run_id)
        finally:
            self._ended(run_id)

    def _ended(self, run_id: str) -> None:
        with self._lock:
            self._driving.pop(run_id, None)
            again = run_id in self._again
            self._again.discard(run_id)
        if again:
            self.resume(run_id)

    def _launch(
        self, target: Callable[[], None], name: str, *, start: bool = True
    ) -> threading.Thread:
        if self._closing:
            raise ServiceUnavailable("The server is stopping; start the run again later.")
        # Daemon threads: a run still going when the grace period ends must not keep the
        # process alive; its journal makes it resumable.
        thread = threading.Thread(target=target, name=name, daemon=True)
        if start:
            thread.start()
        return thread

    def active(self) -> list[str]:
        with self._lock:
            return sorted(self._driving)

    def close(self, grace: float) -> list[str]:
        """Stop taking runs; wait up to `grace` seconds for the active ones to pause.
        Returns the ids still being driven (left resumable)."""
        with self._lock:
            self._closing = True
            threads = dict(self._driving)
        deadline = time.monotonic() + grace
        for thread in threads.values():
            thread.join(max(0.0, deadline - time.monotonic()))
        left = [run_id for run_id, thread in threads.items() if thread.is_alive()]
        for run_id in left:
            log.warning(
                "run %s is still going; it can be resumed with `soarpack run --resume %s`",
                run_id,
                run_id,
            )
        return left
