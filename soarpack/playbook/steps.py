"""Running one unit (a step, or one for_each item): resolve, call, retry, record.

Each call goes through `Engine.invoke`, the path the CLI takes: input validation,
the HTTP client's own retries and rate limits, redaction. Runner retries are on
top, per the step's `retry`. The start of a write is made durable before it is
sent, so a crash can leave it "in doubt" but never forgotten.

A step's `retry.errors` says which failures are worth another attempt; whether a
write may be sent again is the error's verdict (soarpack/http/errormap.py):

    read step                                  -> sent again
    write, error.processed False               -> sent again (it was not processed)
    write, error.processed True                -> fails: the vendor answered for good
    write, error.processed None, `verify`      -> in doubt; the verify read decides:
                                                  done -> succeeded, absent -> sent again
    write, error.processed None, no `verify`   -> in doubt, as after a crash (exit 11)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import tenacity

from soarpack import errors
from soarpack.http import errormap
from soarpack.manifest import ActionSpec
from soarpack.playbook import states
from soarpack.playbook.context import ChildRun, RunContext
from soarpack.playbook.expressions import resolve
from soarpack.playbook.grants import approval_record
from soarpack.playbook.journal import error_data
from soarpack.playbook.model import DEFAULT_RETRY_ERRORS, ApprovalSpec, RetrySpec
from soarpack.playbook.state import StepState, Unit
from soarpack.playbook.verify import check_effect, record_check


class UnitRunner:
    def __init__(
        self,
        runner: RunContext,
        *,
        sleep: Callable[[float], None],
        events: list[dict[str, Any]],
        retry_in_doubt: tuple[str, ...],
        run_child: ChildRun,
    ) -> None:
        self.runner = runner
        self.run_child = run_child
        self.sleep = sleep
        self.events = events
        self.retry_in_doubt = retry_in_doubt

    def run(self, found: StepState, unit: Unit) -> None:
        runner = self.runner
        try:
            if found.step.spec.playbook is not None:
                self._run_playbook(found, unit)
            else:
                self._run_action(found, unit)
        except errors.InDoubtError:
            # A Celery worker died mid-write and the write cannot be verified
            # (soarpack/workers/tasks.py): in doubt, as if this process had stopped there.
            runner.record({"ev": "in_doubt", "step": unit.step, "item": unit.item})
        except _Doubt:
            pass  # journaled as in doubt already, with why it was not sent again
        except errors.SoarpackError as error:
            runner.fail_unit(found, unit, error)
        finally:
            runner.release(found, unit)

    # -- actions ---------------------------------------------------------------------
    def _run_action(self, found: StepState, unit: Unit) -> None:
        runner = self.runner
        step = found.step
        action = runner.engine.pack.action(str(step.spec.action))
        with runner.lock:
            inputs = self._resolve(found, unit, step.with_, "with")
        writes = action.side_effect != "read"
        if step.spec.retry is None:
            self._attempt(found, unit, action.name, inputs, writes, 1)
            return
        policy = step.spec.retry
        retrying = tenacity.Retrying(
            stop=_stop(policy),
            wait=_wait(policy),
            retry=tenacity.retry_if_exception_type(_Resend),
            sleep=self.sleep,
            before_sleep=lambda state: self._retrying(unit, state),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    try:
                        self._attempt(found, unit, action.name, inputs, writes, number)
                    except errors.SoarpackError as error:
                        self._after_failure(found, unit, action, policy, error, number)
        except _Resend as last:
            raise last.error from None  # attempts or time spent: the step fails

    def _after_failure(
        self,
        found: StepState,
        unit: Unit,
        action: ActionSpec,
        policy: RetrySpec,
        error: errors.SoarpackError,
        number: int,
    ) -> None:
        """Raise what a failed attempt comes to: _Resend (try again), _Doubt (journaled
        in doubt), the error itself (the step fails); or return when the verify read
        found the change made (journaled as succeeded)."""
        if not _covered(error, policy) or isinstance(error, errors.InDoubtError):
            raise error
        if action.side_effect == "read":
            raise _Resend(error)
        if not isinstance(error, errors.CallError):
            raise error  # not a vendor's answer (bad input, settings): nothing to resend
        if errormap.may_resend(error, action.side_effect):
            raise _Resend(error)
        if number >= policy.max_attempts:
            raise error  # no attempt left to resend with: the step fails as it is
        cause = _cause(error)
        if error.processed:
            error.message += (
                f" Not sent again: the vendor answered it for good ({cause}); sending "
                "it again would get the same answer or repeat the change."
            )
            raise error
        check = check_effect(self.runner, found, unit)
        if check is None:
            reason = (
                f"after {cause} it is unknown whether {action.name} was applied, and the "
                "action declares no `verify` read to check"
            )
        elif check.done is None:
            reason = (
                f"after {cause} it is unknown whether {action.name} was applied, and its "
                f"`verify` read ({check.by}) failed: {check.error}"
            )
        else:
            reason = f"after {cause}, checked with its `verify` read ({check.by})"
        self.runner.record(
            {
                "ev": "in_doubt",
                "step": unit.step,
                "item": unit.item,
                "error": error_data(error),
                "reason": reason,
            }
        )
        if check is None or not record_check(self.runner, found, unit, check):
            raise _Doubt()
        if not check.done:
            raise _Resend(error)  # verified absent: sending it again repeats nothing

    def _attempt(
        self, found: StepState, unit: Unit, action: str, inputs: Any, writes: bool, number: int
    ) -> None:
        runner = self.runner
        spec = found.step.spec
        runner.record(
            {
                "ev": "started",
                "step": unit.step,
                "item": unit.item,
                "attempt": number,
                "action": action,
                "inputs": inputs,
            },
            durable=writes and not runner.dry_run,
            buffered=not writes,
        )
        deadline = time.monotonic() + spec.timeout if spec.timeout else None
        started = time.perf_counter()
        try:
            result = runner.engine.invoke(
                action,
                inputs,
                deadline=deadline,
                dry_run=runner.dry_run,
                approval=approval_record(runner, found, unit),
            )
        except errors.InputError as error:
            raise _with_sources(error, found, unit) from None
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        if result.dry_run:
            request = dict(result.data.get("request") or {})
            if isinstance(spec.approval, ApprovalSpec):
                request["approval"] = "would ask: " + str(
                    resolve(found.step.prompt, runner.state.scope(found))
                )
            runner.record(
                {"ev": "planned", "step": unit.step, "item": unit.item, "request": request}
            )
            return
        with runner.lock:
            outputs = self._resolve(found, unit, found.step.outputs, "outputs", result=result.data)
        runner.record(
            {
                "ev": "succeeded",
                "step": unit.step,
                "item": unit.item,
                "result": result.data,
                "outputs": outputs,
                "ms": elapsed,
            },
            buffered=not writes,
        )

    def _retrying(self, unit: Unit, state: tenacity.RetryCallState) -> None:
        outcome = state.outcome
        resend = outcome.exception() if outcome is not None else None
        if not isinstance(resend, _Resend) or unit.state != states.RUNNING:
            return  # a verified absence is journaled already (and left the unit pending)
        error = resend.error
        self.runner.record(
            {
                "ev": "retrying",
                "step": unit.step,
                "item": unit.item,
                "attempt": state.attempt_number,
                "error": error_data(error),
                "wait": round(state.upcoming_sleep, 3),
            }
        )

    def _resolve(
        self, found: StepState, unit: Unit, compiled: Any, field: str, **extra: Any
    ) -> Any:
        try:
            return resolve(compiled, self.runner.state.scope(found, unit.item, **extra))
        except errors.ExpressionError as exc:
            raise exc.located(
                playbook=self.runner.playbook.name, step=self.runner.prefix + unit.key, field=field
            ) from None

    # -- sub-playbooks ---------------------------------------------------------------
    def _run_playbook(self, found: StepState, unit: Unit) -> None:
        runner = self.runner
        with runner.lock:
            inputs = self._resolve(found, unit, found.step.with_, "with")
        runner.record(
            {
                "ev": "started",
                "step": unit.step,
                "item": unit.item,
                "attempt": 1,
                "playbook": found.step.spec.playbook,
                "inputs": inputs,
            }
        )
        status, outputs, error = self.run_child(found, unit, inputs)
        if status == "waiting":
            with runner.lock:
                runner.waiting_children.add(unit.key)
            return  # stays running in the journal: a resume re-enters the child
        if status == "in_doubt":
            with runner.lock:
                runner.doubtful_children.add(unit.key)
            return
        if error is not None:
            raise error
        with runner.lock:
            mine = self._resolve(found, unit, found.step.outputs, "outputs", result=outputs)
        runner.record(
            {
                "ev": "succeeded",
                "step": unit.step,
                "item": unit.item,
                "result": outputs,
                "outputs": mine,
            }
        )


def _stop(policy: RetrySpec) -> Any:
    stop: Any = tenacity.stop_after_attempt(policy.max_attempts)
    if policy.total is not None:
        stop = stop | tenacity.stop_before_delay(policy.total)
    return stop


def _wait(policy: RetrySpec) -> Any:
    if policy.backoff == "fixed":
        wait: Any = tenacity.wait_fixed(policy.delay)
    else:
        wait = tenacity.wait_exponential(
            multiplier=policy.delay, exp_base=policy.factor, max=policy.max_delay
        )
    if policy.jitter:
        wait = wait + tenacity.wait_random(0, policy.jitter)
    return wait


def _covered(error: errors.SoarpackError, policy: RetrySpec) -> bool:
    """Whether the step's `retry.errors` names this error's class (or a parent)."""
    names = policy.errors or DEFAULT_RETRY_ERRORS
    return isinstance(error, tuple(getattr(errors, n) for n in names))


def _cause(error: errors.CallError) -> str:
    status = f" {error.status}" if error.status is not None else ""
    return f"{type(error).__name__}{status}"


class _Resend(Exception):
    """Internal: the failed attempt may be sent again (tenacity waits, then retries)."""

    def __init__(self, error: errors.SoarpackError) -> None:
        super().__init__(str(error))
        self.error = error


class _Doubt(Exception):
    """Internal: the unit is journaled in doubt; the run stops there, as after a crash."""


def _with_sources(error: errors.InputError, found: StepState, unit: Unit) -> errors.InputError:
    """The action's input error, naming the step and where each bad value came from."""
    from soarpack.playbook.expressions import Template

    fixed = []
    for problem in error.errors:
        top = problem.pointer.strip("/").split("/")[0]
        given = found.step.with_.get(top) if isinstance(found.step.with_, dict) else None
        if isinstance(given, Template):
            source = f"value from {given.source}"
        elif top in (found.step.with_ or {}):
            source = "literal value in the playbook"
        else:
            source = "not given in `with`"
        fixed.append(
            errors.FieldError(problem.pointer, problem.rule, f"{problem.message} ({source})")
        )
    return errors.InputError(f"{error.action} in step {unit.key}", fixed)
