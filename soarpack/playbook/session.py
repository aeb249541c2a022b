"""Starting, resuming and finishing runs: the Python API the CLI uses.

    run_playbook(...)   a new run
    resume_run(...)     go on with one (`mark_done=[STEP]`: settle a step in doubt first)
    approve(...), mark_done(...)   decisions from outside the drive (decisions.py)
    RunResult           status, outputs, per-step states, dry-run changes, exit code

A drive takes the run's drive lock first, then reads the journal (journal.py): a
second driver is refused at once (RunBusyError, with the holder's pid) before it has
read or sent anything, and a finished run is refused before anything is written.
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
from dataclasses import dataclass, field
from typing import Any

from soarpack import errors, exitcodes, jsondata
from soarpack.engine import Engine
from soarpack.playbook import states
from soarpack.playbook.decisions import (
    approve,
    iso,
    mark,
    mark_done,
    note_waiting,
    refuse_finished,
    waiting_steps,
)
from soarpack.playbook.journal import (
    Journal,
    RunFiles,
    RunLock,
    error_data,
    new_run_id,
    run_files,
    runs_dir,
)
from soarpack.playbook.model import Playbook
from soarpack.playbook.runner import Runner
from soarpack.playbook.state import RunState, StepState, Unit
from soarpack.playbook.validate import find_playbook, load_playbook
from soarpack.playbook.verify import settle

EventSink = Callable[[dict[str, Any]], None]


@dataclass
class RunResult:
    """What a run (or this part of it, until it paused) came to."""

    run_id: str
    playbook: str
    status: str  # succeeded | failed | waiting | in_doubt
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    error: errors.SoarpackError | None = None
    failed_step: dict[str, Any] | None = None
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        if self.status == "succeeded":
            return exitcodes.OK
        if self.status == "waiting":
            return exitcodes.WAITING
        if self.status == "in_doubt":
            return exitcodes.IN_DOUBT
        if self.error is not None:
            return exitcodes.exit_code_for(self.error)
        cls = getattr(errors, str((self.failed_step or {}).get("type")), None)
        if isinstance(cls, type) and issubclass(cls, errors.SoarpackError):
            return exitcodes.code_for_class(cls)
        return exitcodes.VENDOR

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "playbook": self.playbook,
            "status": self.status,
            "ok": self.status == "succeeded",
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "outputs": self.outputs,
            "steps": self.steps,
        }
        if self.dry_run:
            out["changes"] = self.changes
        if self.waiting:
            out["waiting"] = self.waiting
        if self.failed_step:
            out["failed_step"] = self.failed_step
        if self.error is not None:
            out["error"] = self.error.to_dict()
        return out


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
        given = _checked_inputs(book, engine, inputs or {})
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
            drive = _Drive(
                book, engine, files, run, on_event, sleep or engine.sleep, clock, journal
            )
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
            drive = _Drive(
                book, engine, files, run, on_event, sleep or engine.sleep, clock, journal
            )
            return drive.resume(events, tuple(retry_in_doubt))


class _Drive:
    """One process's turn at a run: lock, journal, runner, the final record."""

    def __init__(
        self,
        book: Playbook,
        engine: Engine,
        files: RunFiles,
        run: dict[str, Any],
        on_event: EventSink | None,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
        journal: Journal,
    ) -> None:
        self.book = book
        self.engine = engine
        self.files = files
        self.run = run
        self.dry_run = bool(run["dry_run"])  # the run record says; resumes keep it
        self.on_event = on_event
        self.sleep = sleep
        self.clock = clock
        self.journal = journal
        self.planned: list[dict[str, Any]] = []
        self.waiting: dict[str, dict[str, Any]] = {}

    # -- the Sink the runners write through -------------------------------------------
    def encode(self, event: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        event = {**event, "t": round(self.clock(), 3)}
        if event.get("item", 0) is None:
            del event["item"]
        return self.journal.encode(event), event

    def write(self, line: str, event: dict[str, Any], *, sync: str) -> None:
        self.journal.write(line, sync=sync)
        self._written(event)

    def write_unless_decided(self, line: str, event: dict[str, Any], *, sync: str) -> bool:
        if not self.journal.write_unless_decided(line, str(event["step"]), sync=sync):
            return False
        self._written(event)
        return True

    def _written(self, event: dict[str, Any]) -> None:
        kind = event["ev"]
        if kind == "planned" and "request" in event:
            self.planned.append({"step": _key(event), "request": event.get("request")})
        note_waiting(self.waiting, event)
        if self.on_event is not None:
            self.on_event(event)

    def start(self, inputs: dict[str, Any], file: str) -> RunResult:
        return self._go(
            [],
            (),
            {
                "ev": "run_started",
                "run_id": self.files.run_id,
                "playbook": self.book.name,
                "file": file,
                "inputs": inputs,
                "dry_run": self.dry_run,
                "started_at": self.run["started_at"],
                "pid": os.getpid(),
            },
        )

    def resume(self, events: list[dict[str, Any]], retry_in_doubt: tuple[str, ...]) -> RunResult:
        return self._go(events, retry_in_doubt, {"ev": "run_resumed", "pid": os.getpid()})

    def _go(
        self, events: list[dict[str, Any]], retry: tuple[str, ...], opening: dict[str, Any]
    ) -> RunResult:
        self.waiting = waiting_steps(events)
        state = RunState(self.book, self.run)
        for event in events:
            if "/" not in str(event.get("step", "")):
                state.apply(event)
        runner = Runner(
            self.book,
            self.engine,
            state,
            self,
            dry_run=self.dry_run,
            sleep=self.sleep,
            clock=self.clock,
            events=events,
            retry_in_doubt=retry,
            run_child=run_child,
        )
        runner.record(opening)
        doubts = settle(runner, retry) if events else []
        if not doubts:
            runner.drive()
        return self._finish(runner, doubts)

    def _finish(self, runner: Runner, doubts: list[str]) -> RunResult:
        status = "in_doubt" if doubts else runner.status()
        result = RunResult(self.files.run_id, self.book.name, status, dry_run=self.dry_run)
        if status == "failed":
            runner.cancel_rest()
            result.failed_step = runner.failing
        if status == "succeeded":
            try:
                result.outputs = runner.outputs()
            except errors.ExpressionError as exc:
                result.status, result.error = "failed", exc
        if status == "in_doubt":
            result.error = errors.InDoubtError(
                self.files.run_id, doubts or _doubtful(runner), runner.state.doubt_reasons()
            )
        result.steps = {sid: _summary(s) for sid, s in runner.state.steps.items()}
        result.changes = list(self.planned)
        result.waiting = [
            {
                "step": sid,
                "prompt": e.get("prompt"),
                "approve": f"soarpack approve {self.files.run_id} {sid} --by NAME",
            }
            for sid, e in self.waiting.items()
        ]
        final = {
            "ev": "run_paused" if result.status in ("waiting", "in_doubt") else "run_finished",
            "status": result.status,
            "outputs": result.outputs,
        }
        if result.error is not None:
            final["error"] = error_data(result.error)
        elif result.failed_step:
            final["error"] = result.failed_step
        runner.record(final)
        return result


def run_child(
    parent: Runner, found: StepState, unit: Unit, inputs: Any
) -> tuple[str, Any, errors.SoarpackError | None]:
    """Run (or re-enter) a sub-playbook under the step's prefix in the same journal."""
    pack = parent.engine.pack
    book = load_playbook(
        find_playbook(str(found.step.spec.playbook), pack, parent.playbook.path.parent), pack
    )
    given = _checked_inputs(book, parent.engine, inputs if isinstance(inputs, dict) else {})
    prefix = f"{parent.prefix}{unit.key}/"
    state = RunState(book, parent.state.run)
    state.inputs = given
    events = parent.units.events
    for event in events:
        rest = str(event.get("step", ""))
        if rest.startswith(prefix) and "/" not in rest[len(prefix) :]:
            state.apply({**event, "step": rest[len(prefix) :]})
    child = Runner(
        book,
        parent.engine,
        state,
        parent.sink,
        dry_run=parent.dry_run,
        sleep=parent.units.sleep,
        clock=parent.clock,
        prefix=prefix,
        events=events,
        retry_in_doubt=parent.units.retry_in_doubt,
        run_child=run_child,
    )
    doubts = settle(child, parent.units.retry_in_doubt) if events else []
    if doubts:
        return "in_doubt", None, None
    child.drive()
    status = child.status()
    if status == "failed":
        child.cancel_rest()
        failing = child.failing or {}
        return (
            status,
            None,
            errors.PlaybookError(
                f"Sub-playbook {book.name} failed at step {failing.get('step')}: {failing.get('message')}"
            ),
        )
    if status != "succeeded":
        return status, None, None
    return status, child.outputs(), None


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


def _checked_inputs(book: Playbook, engine: Engine, inputs: dict[str, Any]) -> dict[str, Any]:
    unsafe = jsondata.problems(inputs)
    if unsafe:
        raise errors.InputError(f"playbook {book.name}", unsafe)
    store = engine.pack.schemas
    filled = store.apply_defaults(book.inputs, dict(inputs))
    problems = store.errors(book.inputs, filled, strict=True)
    if problems:
        raise errors.InputError(f"playbook {book.name}", problems)
    return filled


def _summary(found: StepState) -> dict[str, Any]:
    head = found.head
    out: dict[str, Any] = {"status": head.state}
    if head.attempts:
        out["attempts"] = head.attempts
    if head.outputs is not None:
        out["outputs"] = head.outputs
    if head.error is not None:
        out["error"] = head.error
    if head.duration_ms is not None:
        out["duration_ms"] = head.duration_ms
    if found.items is not None:
        counts: dict[str, int] = {}
        for unit in found.units:
            counts[unit.state] = counts.get(unit.state, 0) + 1
        out["items"] = counts
    return out


def _doubtful(runner: Runner) -> list[str]:
    keys = [
        u.key
        for s in runner.state.steps.values()
        for u in [s.head, *s.units]
        if u.state == states.IN_DOUBT
    ]
    return keys + sorted(runner.doubtful_children)


def _key(event: dict[str, Any]) -> str:
    step = str(event.get("step"))
    return step if event.get("item") is None else f"{step}[{event['item']}]"


__all__ = ["RunResult", "approve", "mark_done", "resume_run", "run_playbook", "waiting_steps"]
