"""One process's turn at a run (a Drive): the Sink its runners journal through, the
runner built over the state folded from the journal, what was in doubt settled, the
drive, and the final record and RunResult. A sub-playbook step runs as a child runner
in the same journal (run_child, which the Drive hands each runner).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from soarpack import errors, jsondata
from soarpack.engine import Engine
from soarpack.playbook import states
from soarpack.playbook.decisions import note_waiting, waiting_steps
from soarpack.playbook.journal import Journal, RunFiles, error_data
from soarpack.playbook.model import Playbook
from soarpack.playbook.result import RunResult
from soarpack.playbook.runner import Runner
from soarpack.playbook.state import RunState, StepState, Unit
from soarpack.playbook.validate import find_playbook, load_playbook
from soarpack.playbook.verify import settle

EventSink = Callable[[dict[str, Any]], None]


class Drive:
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
    given = checked_inputs(book, parent.engine, inputs if isinstance(inputs, dict) else {})
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


def checked_inputs(book: Playbook, engine: Engine, inputs: dict[str, Any]) -> dict[str, Any]:
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
