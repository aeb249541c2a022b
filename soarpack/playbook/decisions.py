"""What people decide about a run from outside its drive: approvals and marks.

    approve(RUN, STEP, by=...)                   approve or reject a step that waits
    mark_done(RUN, STEP, by=..., reason=...)     settle a step in doubt without resending it

An approval is a read and an append under the journal's append lock (journal.py), so
of two at once the second finds the first: the same decision again answers the one
recorded and appends nothing; a different one is a DecisionConflict naming what was
recorded, by whom and when. An approval may arrive while the run is being driven:
the drive never overrides it, and the run's next resume acts on it (the server
resumes the run itself once its drive pauses).

A mark is an operator's word that a change in doubt did reach the tenant (they looked):
the step counts as succeeded without being sent again. Its result is the mark (who,
why, when) and its declared outputs read null, as after a verification: nothing
answered. Only a step in doubt can be marked, in doubt already or left started with
no outcome by a process that died; so a mark takes the drive lock too (no driver may
be settling the run at the same time), and a run being driven answers RunBusyError.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from soarpack import errors, jsondata
from soarpack.pack import Pack
from soarpack.playbook import states
from soarpack.playbook.journal import Journal, RunLock, deciding, error_data, run_files, runs_dir

# Events that end a step's wait for a person, and how a conflict names them.
DECIDED = {
    "approved": "approved",
    "rejected": "rejected",
    "approval_failed": "failed (its approval timed out)",
    "approval_skipped": "skipped (its approval timed out)",
    "cancelled": "cancelled (the run failed)",
}
_ITEM = re.compile(r"^(?P<step>.+)\[(?P<item>\d+)\]$")


def approve(
    run_id: str,
    step: str,
    *,
    by: str,
    approved: bool = True,
    reason: str | None = None,
    runs_dir_path: str | os.PathLike[str] | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Record a decision on a step waiting for approval; the run goes on when resumed.

    Returns the event recorded. The same decision again returns the one recorded first,
    with `"already_recorded": true`, and appends nothing; a different decision raises
    DecisionConflict."""
    if not by.strip():
        raise errors.RunStateError("An approval needs the name of who decided (--by).")
    _check_text("approval", by=by, reason=reason)
    files = run_files(run_id, runs_dir(runs_dir_path))
    kind = "approved" if approved else "rejected"
    with deciding(files) as (journal, events):
        recorded = decision_on(events, step)
        if recorded is not None:
            if recorded["ev"] == kind:
                return {**recorded, "already_recorded": True}
            raise errors.DecisionConflict(
                run_id, step, DECIDED[recorded["ev"]], recorded.get("by"), _when(recorded)
            )
        refuse_finished(run_id, events)
        waiting = waiting_steps(events)
        if step not in waiting:
            listed = ", ".join(sorted(waiting)) or "none"
            raise errors.RunStateError(
                f"Step {errors.quoted_step(step)} of run {run_id} is not waiting for an "
                f"approval (waiting: {listed})."
            )
        now = clock()
        event: dict[str, Any] = {
            "ev": kind,
            "step": step,
            "by": by,
            "reason": reason,
            "at": round(now, 3),
            "t": iso(now),
        }
        if not approved:
            event["error"] = error_data(errors.ApprovalRejected(step, by, reason))
        journal.append(event, durable=True)
        return event


def mark_done(
    run_id: str,
    step: str,
    *,
    by: str,
    reason: str,
    pack: Pack | None = None,
    runs_dir_path: str | os.PathLike[str] | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Settle a step in doubt as done, on the operator's word; the run goes on when
    resumed (`resume_run(..., mark_done=[STEP])` does both under one lock)."""
    files = run_files(run_id, runs_dir(runs_dir_path))
    lock = RunLock(files.lock)
    lock.acquire()
    try:
        with deciding(files) as (journal, events):
            [event] = mark(journal, events, [step], by, reason, pack or Pack.load(), clock)
            return event
    finally:
        lock.release()


def mark(
    journal: Journal,
    events: list[dict[str, Any]],
    keys: Sequence[str],
    by: str | None,
    reason: str | None,
    pack: Pack,
    clock: Callable[[], float],
) -> list[dict[str, Any]]:
    """Append a `marked_done` for each key (under both locks, the caller holds them);
    every key is checked before anything is appended."""
    run_id = journal.files.run_id
    problems = []
    if not (by or "").strip():
        problems.append(errors.FieldError("/by", "required", "who checked the tenant"))
    if not (reason or "").strip():
        problems.append(errors.FieldError("/reason", "required", "what they found"))
    if problems:
        raise errors.InputError("mark done", problems)
    _check_text("mark done", by=by, reason=reason)
    refuse_finished(run_id, events)
    dry_run = bool(events and events[0].get("dry_run"))
    plan: list[tuple[str, int | None, bool]] = []
    for key in keys:
        step, item = _unit_of(key)
        state, started = unit_state(events, step, item)
        action = (started or {}).get("action")
        died_mid_write = (
            state == states.RUNNING
            and action is not None
            and not dry_run
            and pack.action(str(action)).side_effect != "read"
        )
        if state != states.IN_DOUBT and not died_mid_write:
            raise errors.RunStateError(
                f"Step {errors.quoted_step(key)} of run {run_id} is not in doubt (it is "
                f"{state}); only a change "
                "whose outcome is unknown can be marked done."
            )
        plan.append((step, item, died_mid_write))
    marked = []
    for step, item, died_mid_write in plan:
        now = clock()
        where: dict[str, Any] = {"step": step} if item is None else {"step": step, "item": item}
        if died_mid_write:
            journal.append({"ev": "in_doubt", **where, "t": round(now, 3)})
        event = {
            "ev": "marked_done",
            **where,
            "by": by,
            "reason": reason,
            "result": {"marked_done": True, "by": by, "reason": reason},
            "at": round(now, 3),
            "t": iso(now),
        }
        marked.append(journal.append(event, durable=True))
    return marked


def _check_text(where: str, **fields: str | None) -> None:
    """InputError naming each field that cannot be written as UTF-8 (a byte of argv that
    is not UTF-8 arrives as a lone surrogate): the journal could not hold it."""
    found = jsondata.problems({name: value for name, value in fields.items() if value is not None})
    if found:
        raise errors.InputError(where, found)


def decision_on(events: list[dict[str, Any]], step: str) -> dict[str, Any] | None:
    """The decision that ended the step's last wait for approval, if one did."""
    found: dict[str, Any] | None = None
    for event in events:
        if event.get("step") != step or event.get("item") is not None:
            continue
        if event["ev"] == "approval_requested":
            found = None
        elif event["ev"] in DECIDED:
            found = event
    return found


def waiting_steps(events: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Steps with an approval request and no decision yet, by id."""
    waiting: dict[str, dict[str, Any]] = {}
    for event in events:
        note_waiting(waiting, event)
    return waiting


def note_waiting(waiting: dict[str, dict[str, Any]], event: dict[str, Any]) -> None:
    if event["ev"] == "approval_requested":
        waiting[event["step"]] = event
    elif event["ev"] in DECIDED:
        waiting.pop(str(event.get("step")), None)


def unit_state(
    events: list[dict[str, Any]], step: str, item: int | None
) -> tuple[str, dict[str, Any] | None]:
    """One step's (or item's) state by the journal, and its last `started` event."""
    state, started = states.PENDING, None
    for event in events:
        if event.get("step") != step or event.get("item") != item:
            continue
        # Events that change no state (a trigger, a failed check) keep it.
        state = states.TABLE.get((state, event["ev"]), state)
        if event["ev"] == "started":
            started = event
    return state, started


def _unit_of(key: str) -> tuple[str, int | None]:
    found = _ITEM.match(key)
    if found is None:
        return key, None
    return found["step"], int(found["item"])


def refuse_finished(run_id: str, events: list[dict[str, Any]]) -> None:
    """RunStateError if the run has finished: nothing is sent or written for it."""
    last = next((e for e in reversed(events) if e["ev"] in ("run_finished", "run_paused")), None)
    if last is not None and last["ev"] == "run_finished":
        raise errors.RunStateError(
            f"Run {run_id} already finished ({last.get('status')}); nothing to resume.",
            hint=f"`soarpack runs show {run_id}` shows it; start a new run to act again.",
        )


def _when(event: dict[str, Any]) -> str | None:
    stamp = event.get("t")
    if isinstance(stamp, str):
        return stamp
    return iso(float(stamp)) if isinstance(stamp, (int, float)) else None


def iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"
