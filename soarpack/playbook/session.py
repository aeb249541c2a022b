"""Starting, resuming and finishing runs: the Python API the CLI uses.

    run_playbook(...)   a new run
    resume_run(...)     go on with one (`mark_done=[STEP]`: settle a step in doubt first)
    approve(...), mark_done(...)   decisions from outside the drive (decisions.py)
    RunResult           status, outputs, per-step states, dry-run changes, exit code
                        (result.py)

Each call is one process's turn at the run (a Drive, drive.py). It takes the run's
drive lock first (here), then reads the journal (journal.py): a second driver is
refused at once (RunBusyError, with the holder's pid) before it has read or sent
anything, and a finished run is refused before anything is written.
A resume folds the journal into the state, then settles what was running when the
process stopped: reads and sub-playbooks run again; a write with no recorded
outcome is in doubt and is only resolved by the action's verification, by an
explicit `retry_in_doubt`, or by an operator's `mark_done`.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from soarpack import errors
from soarpack.engine import Engine
from soarpack.playbook.decisions import (
    approve,
    iso,
    mark,
    mark_done,
    refuse_finished,
    waiting_steps,
)
from soarpack.playbook.drive import Drive, EventSink, checked_inputs
from soarpack.playbook.journal import Journal, RunFiles, RunLock, new_run_id, run_files, runs_dir
from soarpack.playbook.result import RunResult
from soarpack.playbook.validate import load_playbook


def run_playbook(
    playbook: str | os.PathLike[str],
    inputs: dict[str, Any] | None = None,
    *,
    engine: Engine | None = None,
    runs_dir_path: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    on_event: EventSink | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.time,
    journal_class: type[Journal] = Journal,
) -> RunResult:
    """Check and run a playbook (a name in the pack's playbooks/, or a path)."""
    with _engine_or_new(engine) as engine:
        book = load_playbook(playbook, engine.pack)
        given = checked_inputs(book, engine, inputs or {})
        files = RunFiles(runs_dir(runs_dir_path), new_run_id())
        files.folder.mkdir(parents=True, exist_ok=False)
        files.playbook.write_text(book.source.text, encoding="utf-8")
        run = {
            "id": files.run_id,
            "playbook": book.name,
            "started_at": iso(clock()),
            "dry_run": dry_run,
        }
        with _driving(files, journal_class) as journal:
            drive = Drive(book, engine, files, run, on_event, sleep or engine.sleep, clock, journal)
            return drive.start(given, str(book.path))


def resume_run(
    run_id: str,
    *,
    engine: Engine | None = None,
    runs_dir_path: str | os.PathLike[str] | None = None,
    retry_in_doubt: Sequence[str] = (),
    mark_done: Sequence[str] = (),
    by: str | None = None,
    reason: str | None = None,
    on_event: EventSink | None = None,
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] = time.time,
    journal_class: type[Journal] = Journal,
) -> RunResult:
    """Go on with a run that waited, stopped in doubt, or whose process died.

    `mark_done`: steps in doubt (STEP, or STEP[ITEM] for a loop item) an operator found
    done on the tenant (`by` who, `reason` what they saw): journaled, then counted as
    succeeded without being sent again. RunBusyError while another process drives it."""
    with _engine_or_new(engine) as engine:
        files = run_files(run_id, runs_dir(runs_dir_path))
        # Lock first, then read: a second driver learns it at once, having read nothing.
        with _driving(files, journal_class) as journal:
            book = load_playbook(files.playbook, engine.pack)
            with journal.locked():  # the read and the marks it allows, as one
                events = journal.read()
                first = events[0] if events and events[0].get("ev") == "run_started" else None
                if first is None:
                    raise errors.RunStateError(f"Run {run_id} has no start in its journal.")
                refuse_finished(run_id, events)
                if mark_done:
                    mark(journal, events, mark_done, by, reason, engine.pack, clock)
                    events = journal.read()
            run = {
                "id": run_id,
                "playbook": book.name,
                "started_at": first.get("started_at"),
                "dry_run": bool(first.get("dry_run")),
            }
            drive = Drive(book, engine, files, run, on_event, sleep or engine.sleep, clock, journal)
            return drive.resume(events, tuple(retry_in_doubt))


@contextlib.contextmanager
def _driving(files: RunFiles, journal_class: type[Journal]) -> Iterator[Journal]:
    """The drive lock (refused at once if another driver holds it), then the journal."""
    lock = RunLock(files.lock)
    lock.acquire()
    try:
        journal = journal_class(files)
        try:
            yield journal
        finally:
            journal.close()
    finally:
        lock.release()


@contextlib.contextmanager
def _engine_or_new(engine: Engine | None) -> Iterator[Engine]:
    """The caller's engine (left open), or a new one closed afterwards."""
    if engine is not None:
        yield engine
        return
    with Engine() as new:
        yield new


__all__ = ["approve", "mark_done", "resume_run", "run_playbook", "waiting_steps"]
