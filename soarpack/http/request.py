"""The values passed between the HTTP layers: one logical request, its answer, and the
failure of one attempt.

`ConnectionClient.request` makes one `LogicalRequest` of its arguments, and every layer
below reads that one value: the retry loop (retry.py) its side effect and deadline, the
credential (auth.py) returns a copy with the token placed, and one attempt (attempt.py)
sends it and returns a `Reply` or raises `AttemptFailed` carrying our error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from soarpack import errors
from soarpack.http.invocation import CallRecord, Deadline
from soarpack.manifest import RateLimitSpec


@dataclass(frozen=True, slots=True, eq=False)
class LogicalRequest:
    """One request as the caller asked for it, retries and all."""

    method: str
    path: str  # appended to the base URL, so it never leaves the configured host
    side_effect: str  # the action's: read, write or destructive (errormap.may_resend)
    calls: list[CallRecord]  # where every attempt is recorded (the invocation's list)
    deadline: Deadline  # retries, waits and token exchanges included
    params: Mapping[str, Any] | None = None
    json_body: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    rate_limit: RateLimitSpec | None = None  # paced on our side before each attempt
    raw: bool = False  # a success's body is returned as bytes, undecoded

    def carrying(
        self,
        params: Mapping[str, Any],
        json_body: Mapping[str, Any] | None,
        headers: Mapping[str, str],
    ) -> LogicalRequest:
        """This request with other params, body and headers (the credential placed).
        Written out: dataclasses.replace took twice as long, on every attempt."""
        return LogicalRequest(
            self.method,
            self.path,
            self.side_effect,
            self.calls,
            self.deadline,
            params,
            json_body,
            headers,
            self.rate_limit,
            self.raw,
        )


@dataclass(frozen=True)
class Reply:
    """A successful answer: status, headers and the decoded JSON body."""

    status: int
    headers: httpx.Headers
    data: Any


class AttemptFailed(Exception):
    """A failed attempt carrying the error to raise (with its verdict, errormap.py)."""

    def __init__(self, error: errors.CallError):
        super().__init__(str(error))
        self.error = error
