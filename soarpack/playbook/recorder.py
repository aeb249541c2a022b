"""A run's bookkeeping: every change is journaled (the Sink), then folded into the state
(state.py) by the same code a resume uses; which steps are worth planning follows from
the dependency graph; and how the run ends (its status, the steps cancelled after a
failure, its outputs). The Runner (runner.py) is a Recorder that also plans and drives.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from soarpack import errors
from soarpack.engine import Engine
from soarpack.playbook import states
from soarpack.playbook.expressions import resolve
from soarpack.playbook.journal import error_data
from soarpack.playbook.model import Playbook
from soarpack.playbook.state import RunState, StepState, Unit


class Sink(Protocol):
    """Where a run's events go: the run's journal, through the Drive (drive.py)."""

    def encode(self, event: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...

    def write(self, line: str, event: dict[str, Any], *, sync: str) -> None: ...

    def write_unless_decided(self, line: str, event: dict[str, Any], *, sync: str) -> bool:
        """Write the runner's own decision on a waiting step unless a person's decision
        on it arrived from outside the drive meanwhile; returns whether it was written."""
        ...


class Recorder:
    """One playbook's run, as recorded (a sub-playbook's has its own, with a step-id
    prefix); implements the RunContext the units get (context.py)."""

    def __init__(
        self,
        playbook: Playbook,
        engine: Engine,
        state: RunState,
        sink: Sink,
        *,
        dry_run: bool = False,
        clock: Callable[[], float] = time.time,
        prefix: str = "",
    ) -> None:
        self.playbook = playbook
        self.engine = engine
        self.state = state
        self.sink = sink
        self.dry_run = dry_run
        self.clock = clock
        self.prefix = prefix
        self.lock = threading.RLock()
        self.in_flight = 0
        self.failing: dict[str, Any] | None = None
        self.waiting_children: set[str] = set()
        self.doubtful_children: set[str] = set()
        self._dependants, self._unmet = _graph(state)
        # Steps worth looking at when planning: ready, waiting, or looping. Keeping this
        # set small keeps planning proportional to what can change, not to the playbook.
        self._watch: set[str] = {
            sid
            for sid, found in state.steps.items()
            if self._unmet[sid] == 0 and found.head.state not in states.FINAL
        }

    def record(
        self,
        event: dict[str, Any],
        *,
        durable: bool = False,
        buffered: bool = False,
        unless_decided: bool = False,
    ) -> bool:
        """Journal the event (with this run's step prefix), then fold it into the state.

        `durable`: on disk before returning (the start of a write). `buffered`: may sit in
        the process's buffer (a read's progress: losing it only means reading again).
        `unless_decided`: the runner ends a step's wait itself (timeout, cancel): not if a
        person decided it from outside meanwhile (then the step is left to the next
        resume, and False returned).
        """
        shown = (
            {**event, "step": self.prefix + event["step"]}
            if "step" in event and self.prefix
            else event
        )
        line, written = self.sink.encode(shown)
        sync = "fsync" if durable else "buffer" if buffered else "flush"
        with self.lock:
            if unless_decided:
                if not self.sink.write_unless_decided(line, written, sync=sync):
                    self._watch.discard(event["step"])  # decided elsewhere: not ours to plan
                    return False
            else:
                self.sink.write(line, written, sync=sync)
            self.state.apply(event)
            if "step" in event and event.get("item") is None:
                self._head_changed(event)
        return True

    def _head_changed(self, event: dict[str, Any]) -> None:
        step = event["step"]
        if event["ev"] == "triggered":
            self._watch.add(step)
            return
        if self.state.steps[step].head.state not in states.FINAL:
            return
        self._watch.discard(step)
        for dependant in self._dependants[step]:
            self._unmet[dependant] -= 1
            if self._unmet[dependant] == 0:
                self._watch.add(dependant)

    def release(self, found: StepState, unit: Unit) -> None:
        """A job is over: its slot is free."""
        with self.lock:
            self.in_flight -= 1
            if unit.item is None:
                found.claimed = False
            elif unit.state != states.IN_DOUBT:
                # An item in doubt keeps its loop from finishing: a resume settles it.
                found.active -= 1
                self._watch.add(found.step.id)

    def fail_unit(self, found: StepState, unit: Unit, error: errors.SoarpackError) -> None:
        data = error_data(error)
        # One critical section: planning must never see the failure without its
        # consequence (a handler would look unneeded and be skipped).
        with self.lock:
            self.record({"ev": "failed", "step": unit.step, "item": unit.item, "error": data})
            if unit.item is None:
                self.after_failure(found, data)

    def after_failure(self, found: StepState, error: dict[str, Any]) -> None:
        """What a step's failure means for the run: it fails, or its handler is triggered."""
        spec = found.step.spec
        if spec.on_error == "fail":
            self.failing = self.failing or {**error, "step": found.step.id}
        elif spec.handler_target:
            self.record(
                {
                    "ev": "triggered",
                    "step": spec.handler_target,
                    "error": {**error, "step": found.step.id},
                }
            )

    def status(self) -> str:
        heads = [s.head for s in self.state.steps.values()]
        if (
            any(h.state == states.IN_DOUBT for h in heads)
            or self.doubtful_children
            or any(u.state == states.IN_DOUBT for s in self.state.steps.values() for u in s.units)
        ):
            return "in_doubt"
        if self.failing:
            return "failed"
        if any(h.state == states.WAITING for h in heads) or self.waiting_children:
            return "waiting"
        return "succeeded"

    def cancel_rest(self) -> None:
        """After a failure: what never started is recorded as cancelled."""
        for found in self.state.steps.values():
            if found.head.state in (states.PENDING, states.WAITING):
                self.record(
                    {"ev": "cancelled", "step": found.step.id, "reason": "the run failed"},
                    unless_decided=found.head.state == states.WAITING,
                )

    def outputs(self) -> dict[str, Any]:
        try:
            out: dict[str, Any] = resolve(self.playbook.outputs, self.state.scope())
        except errors.ExpressionError as exc:
            raise exc.located(playbook=self.playbook.name, step="", field="outputs") from None
        return out


def _graph(state: RunState) -> tuple[dict[str, list[str]], dict[str, int]]:
    """Who waits on whom (needs, and handlers on the steps they handle), and how many of
    each step's parents have not ended yet."""
    dependants: dict[str, list[str]] = {sid: [] for sid in state.steps}
    parents: dict[str, set[str]] = {sid: set() for sid in state.steps}
    for sid, found in state.steps.items():
        parents[sid] |= set(found.step.needs)
        target = found.step.spec.handler_target
        if target in parents:
            parents[str(target)].add(sid)
    for sid, named in parents.items():
        for parent in named:
            dependants[parent].append(sid)
    unmet = {
        sid: sum(1 for p in named if state.steps[p].head.state not in states.FINAL)
        for sid, named in parents.items()
    }
    return dependants, unmet
