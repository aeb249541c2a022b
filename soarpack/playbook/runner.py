"""Drives one run: decides what may start, runs it, records every change first.

The loop is: plan (under the lock: skip, cancel, ask for approvals, expand loops,
hand out the units that may start) -> run the units (inline when only one can run,
else on a thread pool up to the playbook's and the loop's concurrency) -> repeat
until nothing can start. Every change is recorded first (recorder.py: journaled, then
folded into the state by the same code a resume uses); a loop's items are handed out
by loops.py, and each unit runs in steps.py.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from soarpack import errors
from soarpack.engine import Engine
from soarpack.playbook import states
from soarpack.playbook.expressions import resolve, truthy
from soarpack.playbook.journal import error_data
from soarpack.playbook.loops import Job, plan_items, worth_asking
from soarpack.playbook.model import ApprovalSpec, Playbook
from soarpack.playbook.recorder import Recorder, Sink
from soarpack.playbook.state import RunState, StepState, Unit
from soarpack.playbook.steps import UnitRunner

MAX_THREADS = 256


class Runner(Recorder):
    """One playbook's run, planned and driven (a sub-playbook gets its own Runner with a
    step-id prefix); what it records, and how, is the Recorder's."""

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
        super().__init__(playbook, engine, state, sink, dry_run=dry_run, clock=clock, prefix=prefix)
        self.units = UnitRunner(
            self,
            sleep=sleep,
            events=events or [],
            retry_in_doubt=retry_in_doubt,
            run_child=functools.partial(run_child, self),
        )

    def _start(self, found: StepState, unit: Unit) -> Job:
        return functools.partial(self.units.run, found, unit)

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
                changed |= plan_items(self, found, jobs, self._start)
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
                and worth_asking(self, found, items)
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
        jobs.append(self._start(found, found.head))
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
