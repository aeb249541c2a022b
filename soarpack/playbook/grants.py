"""What allowed a destructive step: the approval record its call carries.

A Celery worker refuses a destructive task that does not say what it was granted under
(soarpack/workers/signing.py GRANTS), so the runner hands one to `Engine.invoke` with
every destructive call: the step's own approval (who approved it), or, for a step that
declares `approval: none`, the nearest approved step it needs (directly or not), if any.
A local Engine ignores it; the journal keeps the decisions themselves.
"""

from __future__ import annotations

from typing import Any

from soarpack.playbook.context import RunContext
from soarpack.playbook.model import ApprovalSpec
from soarpack.playbook.state import RunState, StepState, Unit


def approval_record(runner: RunContext, found: StepState, unit: Unit) -> dict[str, Any] | None:
    """The record for this unit's call, or None when its action is not destructive."""
    action = runner.engine.pack.action(str(found.step.spec.action))
    if action.side_effect != "destructive":
        return None
    record: dict[str, Any] = {
        "run": str(runner.state.run.get("id", "")),
        "step": runner.prefix + unit.key,
    }
    approval = found.step.spec.approval
    if isinstance(approval, ApprovalSpec):
        return {**record, "granted": "approval", "approver": found.approval.get("approved_by")}
    if approval != "none":
        return None  # `validate` refuses such a step; a worker would refuse its call
    record["granted"] = "approval: none"
    upstream = _approved_upstream(runner.state, found)
    if upstream is not None:
        record["under"] = runner.prefix + upstream.step.id
        record["approver"] = upstream.approval.get("approved_by")
    return record


def _approved_upstream(state: RunState, found: StepState) -> StepState | None:
    """The nearest step `found` needs (breadth first) that a person approved."""
    seen: set[str] = set()
    frontier = list(found.step.needs)
    while frontier:
        following: list[str] = []
        for sid in frontier:
            if sid in seen or sid not in state.steps:
                continue
            seen.add(sid)
            step = state.steps[sid]
            if step.approval.get("approved_by"):
                return step
            following.extend(step.step.needs)
        frontier = following
    return None
