"""The for_each part of planning: whether a loop's approval is worth asking, handing
out a loop's items up to its concurrency (each through its `when`), and the loop's end
(its outputs gathered in item order, or the failure of its items).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from soarpack import errors
from soarpack.playbook import states
from soarpack.playbook.expressions import truthy
from soarpack.playbook.recorder import Recorder
from soarpack.playbook.state import StepState, Unit

Job = Callable[[], None]
# The runner's: the job that runs one unit (steps.py) in a slot already taken.
Start = Callable[[StepState, Unit], Job]


def worth_asking(run: Recorder, found: StepState, items: list[Any] | None) -> bool:
    """A loop's approval is asked only if some item passes its `when` (an empty
    list, or every item filtered out, changes nothing: nobody is asked)."""
    if items is None:
        return True
    when = found.step.when
    if when is None:
        return bool(items)
    for index, item in enumerate(items):
        try:
            scope = {**run.state.scope(found), "item": item, "index": index}
            if truthy(when.render(scope)):
                return True
        except errors.ExpressionError:
            return True  # ask: the item itself fails on its `when` once it is planned
    return False


def plan_items(run: Recorder, found: StepState, jobs: list[Job], start: Start) -> bool:
    """Hand out (into `jobs`) the next items the loop's slots allow, recording those
    cancelled or skipped; the loop ends once every item has. Returns whether anything
    was recorded."""
    step = found.step
    changed = False
    units = found.units
    while found.cursor < len(units):
        unit = units[found.cursor]
        if unit.state != states.PENDING:
            found.cursor += 1
            continue
        if run.failing or (step.spec.on_error == "fail" and found.item_failed):
            run.record(
                {"ev": "cancelled", "step": step.id, "item": unit.item, "reason": "run failing"}
            )
            found.cursor += 1
            changed = True
            continue
        if found.active >= step.spec.concurrency or run.in_flight >= run.playbook.concurrency:
            break
        found.cursor += 1
        if step.when is not None:
            try:
                keep = truthy(step.when.render(run.state.scope(found, unit.item)))
            except errors.ExpressionError as exc:
                run.fail_unit(
                    found,
                    unit,
                    exc.located(
                        playbook=run.playbook.name, step=run.prefix + step.id, field="when"
                    ),
                )
                changed = True
                continue
            if not keep:
                run.record(
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
        run.in_flight += 1
        jobs.append(start(found, unit))
    # Every item must have ended: one whose job died mid-way (still running, or
    # pending past the cursor) is not done, and a loop finished without it would
    # hand its dependants a list with that item silently missing.
    if (
        found.cursor >= len(units)
        and found.active == 0
        and all(u.state in states.FINAL for u in units)
    ):
        finish_loop(run, found)
        changed = True
    return changed


def finish_loop(run: Recorder, found: StepState) -> None:
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
        run.record({"ev": "failed", "step": found.step.id, "error": error, "outputs": outputs})
        run.after_failure(found, error)
    elif done and all(u.state == states.DRY_RUN for u in done):
        # Every item was a change held back by the dry run: so is the step.
        run.record({"ev": "planned", "step": found.step.id, "items": len(done)})
    else:
        run.record(
            {
                "ev": "succeeded",
                "step": found.step.id,
                "result": [u.result for u in done],
                "outputs": outputs,
            }
        )
