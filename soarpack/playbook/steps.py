"""Running one unit (a step, or one for_each item): resolve, call, retry, record.

Each call goes through `Engine.invoke`, the path the CLI takes: input validation,
the HTTP client's own retries and rate limits, redaction. Runner retries are on
top, per the step's `retry`. The start of a write is made durable before it is
sent, so a crash can leave it "in doubt" but never forgotten.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tenacity

from soarpack import errors
from soarpack.playbook.expressions import resolve
from soarpack.playbook.grants import approval_record
from soarpack.playbook.model import DEFAULT_RETRY_ERRORS, ApprovalSpec, RetrySpec
from soarpack.playbook.state import StepState, Unit

if TYPE_CHECKING:
    from soarpack.playbook.runner import Runner


class UnitRunner:
    def __init__(
        self,
        runner: Runner,
        *,
        sleep: Callable[[float], None],
        events: list[dict[str, Any]],
        retry_in_doubt: tuple[str, ...],
    ) -> None:
        self.runner = runner
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
            retry=tenacity.retry_if_exception(lambda exc: _retriable(exc, policy, writes)),
            sleep=self.sleep,
            before_sleep=lambda state: self._retrying(unit, state),
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                self._attempt(
                    found, unit, action.name, inputs, writes, attempt.retry_state.attempt_number
                )

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
        error = outcome.exception() if outcome is not None else None
        if not isinstance(error, errors.SoarpackError):
            return
        from soarpack.playbook.runner import error_data

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
        from soarpack.playbook.session import run_child

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
        status, outputs, error = run_child(runner, found, unit, inputs)
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


def _retriable(error: BaseException, policy: RetrySpec, writes: bool) -> bool:
    """Whether the step's retry policy covers this error (see the playbook docs)."""
    if not isinstance(error, errors.SoarpackError):
        return False
    names = policy.errors or DEFAULT_RETRY_ERRORS
    classes = tuple(getattr(errors, n) for n in names)
    if not isinstance(error, classes):
        return False
    # A timed-out write may have been applied: resending it needs an explicit opt-in.
    return not (
        writes and isinstance(error, errors.RequestTimeout) and "RequestTimeout" not in names
    )


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
