"""Settling a resumed run: what was running when its process stopped.

    read step or sub-playbook, started, no outcome  -> run it again (interrupted)
    write/destructive step, started, no outcome     -> in doubt; never re-sent blindly:
        the action declares `verify`               -> ask the vendor: done, or send again
        `--retry-in-doubt STEP`                     -> send again, on the user's word
        otherwise                                   -> the run stops and names the step

A step's own `retry:` meeting a failure that leaves a write's outcome unknown uses the
same read (`check_effect`, `record_check`; see steps.py).

Also re-applies the consequences of failures recorded from outside the process
(a rejected approval): the run fails, or its `on_error` handler is triggered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from soarpack import errors
from soarpack.playbook import states
from soarpack.playbook.context import RunContext
from soarpack.playbook.expressions import compile_value, resolve, truthy
from soarpack.playbook.state import StepState, Unit


def settle(runner: RunContext, retry_in_doubt: tuple[str, ...]) -> list[str]:
    """Resolve interrupted units; returns the keys still in doubt (the run must stop)."""
    doubtful: list[str] = []
    for found in runner.state.steps.values():
        for unit in [found.head, *found.units]:
            if unit.state == states.RUNNING and not (unit.item is None and found.items is not None):
                _interrupted(runner, found, unit)
            if unit.state == states.IN_DOUBT and not _resolve_doubt(
                runner, found, unit, retry_in_doubt
            ):
                doubtful.append(runner.prefix + unit.key)
        if found.head.state == states.FAILED:
            _reapply_failure(runner, found)
    return doubtful


def _interrupted(runner: RunContext, found: StepState, unit: Unit) -> None:
    action = found.step.spec.action
    writes = action is not None and runner.engine.pack.action(action).side_effect != "read"
    kind = "in_doubt" if writes and not runner.dry_run else "interrupted"
    runner.record({"ev": kind, "step": unit.step, "item": unit.item})


def _resolve_doubt(
    runner: RunContext, found: StepState, unit: Unit, retry: tuple[str, ...]
) -> bool:
    key = runner.prefix + unit.key
    if key in retry or runner.prefix + unit.step in retry:
        runner.record({"ev": "retry_in_doubt", "step": unit.step, "item": unit.item})
        return True
    check = check_effect(runner, found, unit)
    return check is not None and record_check(runner, found, unit, check)


@dataclass(frozen=True)
class Check:
    """What the action's `verify` read found: done True/False, or None if it failed."""

    by: str
    done: bool | None
    observed: Any = None
    error: errors.SoarpackError | None = None


def check_effect(runner: RunContext, found: StepState, unit: Unit) -> Check | None:
    """Ask the vendor, with the action's `verify` read, whether the unit's change is
    there (None when the action declares no verify). Records nothing."""
    action = runner.engine.pack.action(str(found.step.spec.action))
    check = action.verify
    if check is None:
        return None
    inputs = unit.inputs if isinstance(unit.inputs, dict) else {}
    try:
        read_inputs = resolve(compile_value(check.with_), {"inputs": inputs})
        try:
            observed: Any = runner.engine.invoke(check.action, read_inputs).data
        except errors.NotFoundError:
            observed = None
        done = truthy(
            resolve(compile_value(check.done_when), {"inputs": inputs, "result": observed})
        )
    except errors.SoarpackError as exc:
        return Check(check.action, None, error=exc)
    return Check(check.action, bool(done), observed)


def record_check(runner: RunContext, found: StepState, unit: Unit, check: Check) -> bool:
    """Journal what the verify read found (the unit is in doubt): done -> succeeded,
    absent -> pending (to be sent again). Returns False if it stays in doubt."""
    if check.done is None:
        assert check.error is not None
        runner.record(
            {
                "ev": "verify_failed",
                "step": unit.step,
                "item": unit.item,
                "by": check.by,
                "error": check.error.to_dict(),
            }
        )
        return False
    verification = {"verified": check.done, "by": check.by, "observed": check.observed}
    if check.done:
        runner.record(
            {
                "ev": "verified_done",
                "step": unit.step,
                "item": unit.item,
                "result": verification,
                "outputs": _null_outputs(found) if unit.item is None else None,
            }
        )
    else:
        runner.record(
            {"ev": "verified_absent", "step": unit.step, "item": unit.item, "result": verification}
        )
    return True


def _null_outputs(found: StepState) -> dict[str, Any] | None:
    """A step confirmed by verification has no action answer: its outputs read null."""
    return {name: None for name in found.step.outputs} if found.step.outputs else None


def _reapply_failure(runner: RunContext, found: StepState) -> None:
    target = found.step.spec.handler_target
    if target is not None:
        handler = runner.state.steps[target]
        if handler.triggered_by is not None or handler.head.state != states.PENDING:
            return  # the journal already holds the trigger, or the handler is past it
    runner.after_failure(found, dict(found.head.error or {}))
