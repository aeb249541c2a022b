"""How a step (or one for_each item) moves between states: one table, no nested ifs.

The runner writes an event to the journal, then folds it into the state with
`advance`; resuming a run folds the journal's events through the same table, so a
resumed run starts from exactly the state the crashed one had recorded.

    pending --started--> running --succeeded--> succeeded
       |                    |----failed-------> failed
       |                    |----retrying-----> pending      (waits, then starts again)
       |                    |----planned------> dry_run      (a write not sent in a dry run)
       |                    `----interrupted--> pending / in_doubt   (found on resume)
       |--expanded---------> running (a for_each step while its items run)
       |--skipped----------------------------> skipped
       |--cancelled--------------------------> cancelled    (an upstream failure stopped it)
       `--approval_requested--> waiting --approved--> pending (approved)
                                    |-----rejected / approval_failed--> failed
                                    `-----approval_skipped-----------> skipped
    in_doubt --verified (done) / marked_done--> succeeded
             --verified (absent) / retry_in_doubt--> pending
"""

from __future__ import annotations

from soarpack.errors import RunStateError

PENDING = "pending"
RUNNING = "running"
WAITING = "waiting"
SUCCEEDED = "succeeded"
FAILED = "failed"
SKIPPED = "skipped"
CANCELLED = "cancelled"
DRY_RUN = "dry_run"
IN_DOUBT = "in_doubt"

#: States a step ends in; its dependants may look at it.
FINAL = frozenset({SUCCEEDED, FAILED, SKIPPED, CANCELLED, DRY_RUN})

# (state, event) -> next state. An event the table lacks means a corrupt journal.
TABLE: dict[tuple[str, str], str] = {
    (PENDING, "started"): RUNNING,
    (PENDING, "skipped"): SKIPPED,
    (PENDING, "cancelled"): CANCELLED,
    (PENDING, "approval_requested"): WAITING,
    (PENDING, "expanded"): RUNNING,  # a for_each step's items are known; they run now
    (PENDING, "failed"): FAILED,  # failed before sending: bad expression or input
    (RUNNING, "succeeded"): SUCCEEDED,
    (RUNNING, "failed"): FAILED,
    (RUNNING, "retrying"): PENDING,
    (RUNNING, "planned"): DRY_RUN,
    (RUNNING, "interrupted"): PENDING,
    (RUNNING, "in_doubt"): IN_DOUBT,
    (WAITING, "approved"): PENDING,
    (WAITING, "rejected"): FAILED,
    (WAITING, "approval_failed"): FAILED,
    (WAITING, "approval_skipped"): SKIPPED,
    (WAITING, "cancelled"): CANCELLED,
    (IN_DOUBT, "verified_done"): SUCCEEDED,
    (IN_DOUBT, "marked_done"): SUCCEEDED,  # an operator checked the tenant by hand
    (IN_DOUBT, "verified_absent"): PENDING,
    (IN_DOUBT, "retry_in_doubt"): PENDING,
    (IN_DOUBT, "cancelled"): CANCELLED,
}


def advance(state: str, event: str, where: str) -> str:
    """The state after `event`, or RunStateError naming the step if the table forbids it."""
    try:
        return TABLE[(state, event)]
    except KeyError:
        raise RunStateError(
            f"The journal says {where} went from {state} on `{event}`, which cannot happen.",
            hint="The journal was edited or is damaged; start a new run.",
        ) from None
