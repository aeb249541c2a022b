"""Drives one run: decides what may start, runs it, records every change first.

The loop is: plan (under the lock: skip, cancel, ask for approvals, expand loops,
hand out the units that may start) -> run the units (inline when only one can run,
else on a thread pool up to the playbook's and the loop's concurrency) -> repeat
until nothing can start. Every change is an event written to the journal and folded
into the state (state.py) by the same code a resume uses.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Protocol

from soarpack import errors
from soarpack.engine import Engine
from soarpack.playbook import states
from soarpack.playbook.expressions import resolve, truthy
from soarpack.playbook.journal import error_data
from soarpack.playbook.model import ApprovalSpec, Playbook
from soarpack.playbook.state import RunState, StepState, Unit
from soarpack.playbook.steps import UnitRunner

Job = Callable[[], None]
MAX_THREADS = 256


class Sink(Protocol):
    """Where a run's events go (the journal of the run, see session.py)."""

    def encode(self, event: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...

    def write(self, line: str, event: dict[str, Any], *, sync: str) -> None: ...

    def write_unless_decided(self, line: str, event: dict[str, Any], *, sync: str) -> bool:
        """Write the runner's own decision on a waiting step unless a person's decision
        on it arrived from outside the drive meanwhile; returns whether it was written."""
        ...


class Runner:
    """One playbook's run (a sub-playbook gets its own Runner with a step-id prefix)."""

    def __init__(
        self,
        playbook: Playbook,
        engine: Engine,
        state: RunState,
        sink: Sink,
        *,
        dry_run: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        prefix: str = "",
        events: list[dict[str, Any]] | None = None,
        retry_in_doubt: tuple[str, ...] = (),
        # The session's: runs a sub-playbook step; bound to this runner for its units.
        run_child: Callable[
            [Runner, StepState, Unit, Any], tuple[str, Any, errors.SoarpackError | None]
        ],
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
        self.units = UnitRunner(
            self,
            sleep=sleep,
            events=events or [],
            retry_in_doubt=retry_in_doubt,
            run_child=functools.partial(run_child, self),
        )
        self._dependants, self._unmet = _graph(state)
        # Steps worth looking at when planning: ready, waiting, or looping. Keeping this
        # set small keeps planning proportional to what can change, not to the playbook.
        self._watch: set[str] = {
            sid
            for sid, found in state.steps.items()
            if self._unmet[sid] == 0 and found.head.state not in states.FINAL
        }

    # -- recording -------------------------------------------------------------------
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

    # -- the loop --------------------------------------------------------------------
    def drive(self) -> None:
        running: set[Future[None]] = set()
        pool: ThreadPoolExecutor | None = None
        try:
            while True:
                # A job that died (a bug, or the process being stopped) ends the drive
                # before anything more is planned, as the death of the process would.
                ended = {future for future in running if future.done()}
                running -= ended
                for future in ended:
                    future.result()
                with self.lock:
                    jobs, changed = self._plan()
                if jobs and not running and len(jobs) == 1:
                    jobs[0]()  # one thing to do: no thread hand-off
                    continue
                if jobs:
                    pool = pool or ThreadPoolExecutor(
                        max_workers=min(MAX_THREADS, self.playbook.concurrency),
                        thread_name_prefix="soarpack-step",
                    )
                    running |= {pool.submit(job) for job in jobs}
                    continue
                if changed:
                    continue
                if not running:
                    break
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # a bug in a job surfaces here, not silently
        finally:
            if pool is not None:
                pool.shutdown(wait=True)

    def _plan(self) -> tuple[list[Job], bool]:
        jobs: list[Job] = []
        changed = False
        steps = self.state.steps
        for sid in sorted(self._watch, key=lambda name: steps[name].step.index):
            if self.in_flight >= self.playbook.concurrency:
                break
            found = steps[sid]
            head = found.head
            if head.state == states.PENDING and not found.claimed:
                changed |= self._plan_head(found, jobs)
            elif head.state == states.WAITING:
                changed |= self._check_approval_timeout(found)
            elif head.state == states.RUNNING and found.items is not None:
                changed |= self._plan_items(found, jobs)
            elif head.state in (states.IN_DOUBT, *states.FINAL):
                self._watch.discard(sid)
        return jobs, changed

    def _plan_head(self, found: StepState, jobs: list[Job]) -> bool:
        step = found.step
        ready, blocker = self._needs_met(found)
        if blocker is not None:
            # A handler nobody needed is skipped; a step whose upstream failed is cancelled.
            kind = "skipped" if step.is_handler else "cancelled"
            self.record({"ev": kind, "step": step.id, "reason": blocker})
            return True
        if not ready or self.failing:
            return False
        try:
            scope = self.state.scope(found)
            if not found.loops and step.when is not None and not truthy(step.when.render(scope)):
                self.record({"ev": "skipped", "step": step.id, "reason": "when is false"})
                return True
            items = resolve(step.for_each, scope) if found.loops else None
            if found.loops and not isinstance(items, list):
                raise errors.ExpressionError(
                    f"for_each must give a list, it gave {type(items).__name__}",
                    expression=str(step.spec.for_each),
                )
            approval = step.spec.approval
            if (
                isinstance(approval, ApprovalSpec)
                and not self.dry_run
                and not found.approval
                and self._worth_asking(found, items)
            ):
                prompt = resolve(step.prompt, scope)
                self.record(
                    {
                        "ev": "approval_requested",
                        "step": step.id,
                        "prompt": prompt,
                        "timeout": approval.timeout,
                        "at": round(self.clock(), 3),
                    }
                )
                return True
            if found.loops:
                self.record({"ev": "expanded", "step": step.id, "items": items})
                return True
        except errors.ExpressionError as exc:
            where = "for_each" if found.loops else "when"
            self.fail_unit(
                found,
                found.head,
                exc.located(playbook=self.playbook.name, step=self.prefix + step.id, field=where),
            )
            return True
        found.claimed = True
        self.in_flight += 1
        jobs.append(functools.partial(self.units.run, found, found.head))
        return False

    def _worth_asking(self, found: StepState, items: list[Any] | None) -> bool:
        """A loop's approval is asked only if some item passes its `when` (an empty
        list, or every item filtered out, changes nothing: nobody is asked)."""
        if items is None:
            return True
        when = found.step.when
        if when is None:
            return bool(items)
        for index, item in enumerate(items):
            try:
                scope = {**self.state.scope(found), "item": item, "index": index}
                if truthy(when.render(scope)):
                    return True
            except errors.ExpressionError:
                return True  # ask: the item itself fails on its `when` once it is planned
        return False

    def _needs_met(self, found: StepState) -> tuple[bool, str | None]:
        """(ready, reason it can never run); only asked once every need has ended."""
        step = found.step
        if step.is_handler:
            if found.triggered_by is not None:
                return True, None
            return False, "no error to handle" if self._unmet[step.id] == 0 else None
        for name in step.needs:
            need = self.state.steps[name]
            if need.head.state == states.CANCELLED or (
                need.head.state == states.FAILED and need.step.spec.on_error != "continue"
            ):
                return False, f"{name} did not succeed"
        return True, None

    def _plan_items(self, found: StepState, jobs: list[Job]) -> bool:
        step = found.step
        changed = False
        units = found.units
        while found.cursor < len(units):
            unit = units[found.cursor]
            if unit.state != states.PENDING:
                found.cursor += 1
                continue
            if self.failing or (step.spec.on_error == "fail" and found.item_failed):
                self.record(
                    {"ev": "cancelled", "step": step.id, "item": unit.item, "reason": "run failing"}
                )
                found.cursor += 1
                changed = True
                continue
            if found.active >= step.spec.concurrency or self.in_flight >= self.playbook.concurrency:
                break
            found.cursor += 1
            if step.when is not None:
                try:
                    keep = truthy(step.when.render(self.state.scope(found, unit.item)))
                except errors.ExpressionError as exc:
                    self.fail_unit(
                        found,
                        unit,
                        exc.located(
                            playbook=self.playbook.name, step=self.prefix + step.id, field="when"
                        ),
                    )
                    changed = True
                    continue
                if not keep:
                    self.record(
                        {
                            "ev": "skipped",
                            "step": step.id,
                            "item": unit.item,
                            "reason": "when is false",
                        }
                    )
                    changed = True
                    continue
            found.active += 1
            self.in_flight += 1
            jobs.append(functools.partial(self.units.run, found, unit))
        # Every item must have ended: one whose job died mid-way (still running, or
        # pending past the cursor) is not done, and a loop finished without it would
        # hand its dependants a list with that item silently missing.
        if (
            found.cursor >= len(units)
            and found.active == 0
            and all(u.state in states.FINAL for u in units)
        ):
            self._finish_loop(found)
            changed = True
        return changed

    def _finish_loop(self, found: StepState) -> None:
        done = [u for u in found.units if u.state in (states.SUCCEEDED, states.DRY_RUN)]
        failed = [u for u in found.units if u.state == states.FAILED]
        outputs = {
            name: [u.outputs.get(name) if u.outputs else None for u in done]
            for name in found.step.outputs
        }
        if failed:
            error = dict(failed[0].error or {})
            error["message"] = (
                f"{len(failed)} of {len(found.units)} items failed; first: {error.get('message', '')}"
            )
            self.record({"ev": "failed", "step": found.step.id, "error": error, "outputs": outputs})
            self.after_failure(found, error)
        elif done and all(u.state == states.DRY_RUN for u in done):
            # Every item was a change held back by the dry run: so is the step.
            self.record({"ev": "planned", "step": found.step.id, "items": len(done)})
        else:
            self.record(
                {
                    "ev": "succeeded",
                    "step": found.step.id,
                    "result": [u.result for u in done],
                    "outputs": outputs,
                }
            )

    def _check_approval_timeout(self, found: StepState) -> bool:
        approval = found.step.spec.approval
        assert isinstance(approval, ApprovalSpec)
        requested = float(found.approval.get("requested_at", self.clock()))
        if self.clock() < requested + approval.timeout:
            return False
        if approval.on_timeout == "skip":
            self.record(
                {"ev": "approval_skipped", "step": found.step.id, "reason": "approval timed out"},
                unless_decided=True,
            )
        else:
            error = errors.ApprovalTimedOut(self.prefix + found.step.id, approval.timeout)
            if self.record(
                {"ev": "approval_failed", "step": found.step.id, "error": error_data(error)},
                unless_decided=True,
            ):
                self.after_failure(found, error_data(error))
        return True

    # -- the end ---------------------------------------------------------------------
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
