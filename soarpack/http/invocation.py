"""What one invocation adds to a connection's shared client: its deadline, its dry run,
and the record of every HTTP attempt it made.

The shared client keeps no per-action state. An invocation gets a view of it
(`ConnectionClient.for_invocation`) holding an `Invocation`: the deadline every request
of the view ends by, and whether it is a dry run (`DryRunHalt` instead of a change).
Each attempt is recorded as a `CallRecord` in the list the caller passes in.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, as shown in results and journals (URL already redacted)."""

    method: str
    url: str
    status: int | None
    duration_ms: float
    attempt: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class DryRunHalt(Exception):  # control flow, deliberately outside the SoarpackError tree
    """Raised in a dry run instead of sending the first request that would change something.

    `planned` is that request as {"method", "url", "body"}, built as it would be sent but
    without the credential, and redacted. The engine turns it into the dry-run result.
    """

    def __init__(self, connection: str, planned: dict[str, Any]) -> None:
        super().__init__(f"dry run: {planned['method']} {planned['url']} on {connection} not sent")
        self.connection = connection
        self.planned = planned


STEP_HINT = (
    "Raise the step's timeout: it bounds one attempt of the action, its HTTP calls included."
)


@dataclass(slots=True)  # not frozen: one is made per request, and frozen inits are slow
class Deadline:
    """When one logical request must be over, and whose limit that is (for messages)."""

    at: float  # a time.monotonic() value
    by_step: bool  # the caller's per-invocation deadline, not the connection's total_timeout

    @classmethod
    def earliest(cls, total: float, step: float | None) -> Deadline:
        own = time.monotonic() + total
        if step is not None and step < own:
            return cls(step, by_step=True)
        return cls(own, by_step=False)

    def left(self) -> float:
        return self.at - time.monotonic()

    @property
    def whose(self) -> str:
        return "the step's timeout" if self.by_step else "total_timeout"

    @property
    def hint(self) -> str | None:
        """What to tell users when this deadline ends a request."""
        return STEP_HINT if self.by_step else None


@dataclass(frozen=True)
class Invocation:
    """The per-invocation part of a client view; the shared client has the empty one."""

    deadline: float | None = None  # a time.monotonic() value
    dry_run: bool = False

    def halts(self, side_effect: str) -> bool:
        """Whether a request with `side_effect` is to be shown (DryRunHalt), not sent."""
        return self.dry_run and side_effect != "read"

    def deadline_for(self, total_timeout: float, requested: float | None) -> Deadline:
        """When a request started now ends: after total_timeout, or at the earlier of the
        invocation's deadline and the one the request itself was given."""
        step = self.deadline
        if requested is not None and (step is None or requested < step):
            step = requested
        return Deadline.earliest(total_timeout, step)
