"""One-shot faults the sandbox injects into its next vendor requests.

Tests and demos queue a fault ("the next 2 calls get a 429"), then run the code
under test and watch it cope. Each queued fault is consumed by exactly one request,
so a retry loop sees the fault N times and then the real answer.

Fault shapes (a plain dict, as it arrives in the admin endpoint's JSON):

    {"status": 429, "retry_after": 1}   rate limited, with a Retry-After header (default 1)
    {"status": 500 | 502 | 503 | 504}   a server or gateway failure (503 may have retry_after)
    {"malformed": true}                 200 whose body is cut-off JSON
    {"html": true}                      200 with an HTML error page
    {"delay": 1.5}                      sleep, then answer normally
    {"echo_credential": true}           400 whose message quotes back the request's
                                        credential in every form vendors echo (`echo.py`)

`delay` may be combined with one of the others (slow, then failing).
"""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.responses import JSONResponse, Response

from soarpack.sandbox.shared.echo import echo_response

Fault = dict[str, Any]

FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})
# The statuses for which HTTP defines Retry-After as meaningful.
_RETRY_AFTER_STATUSES = frozenset({429, 503})
# A delay longer than this is almost certainly a typo (ms for s) and would hang a test run.
MAX_DELAY_SECONDS = 120.0
_KNOWN_KEYS = frozenset({"status", "retry_after", "malformed", "html", "delay", "echo_credential"})
_OUTCOME_KEYS = ("status", "malformed", "html", "echo_credential")

_REASONS = {
    429: "API rate limit exceeded",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}

# What a gateway in front of the tenant tends to serve when things go wrong: a page
# for humans with a 200 status, which a client must not mistake for data.
_HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Netskope - Service Unavailable</title></head>"
    "<body><h1>Something went wrong</h1><p>The service is temporarily unavailable. "
    "Please try again later.</p></body></html>\n"
)
# Cut mid-record, the way a dropped connection behind a proxy leaves it.
_MALFORMED_BODY = b'{"status": "success", "msg": "", "data": [{"_id": "5f1c0a9e2b'


def validate_fault(fault: Any) -> Fault:
    """Return a clean copy of `fault`, or raise ValueError saying what is wrong with it."""
    if not isinstance(fault, dict):
        raise ValueError("a fault must be a JSON object")
    unknown = set(fault) - _KNOWN_KEYS
    if unknown:
        raise ValueError(f"unknown fault keys: {', '.join(sorted(unknown))}")
    outcomes = [key for key in _OUTCOME_KEYS if fault.get(key) not in (None, False)]
    if len(outcomes) > 1:
        raise ValueError(f"a fault can have only one of: {', '.join(_OUTCOME_KEYS)}")
    if not outcomes and fault.get("delay") is None:
        raise ValueError("a fault needs one of: status, malformed, html, echo_credential, delay")
    clean: Fault = {}
    if "status" in outcomes:
        status = fault["status"]
        if isinstance(status, bool) or status not in FAULT_STATUSES:
            allowed = ", ".join(str(s) for s in sorted(FAULT_STATUSES))
            raise ValueError(f"fault status must be one of {allowed}")
        clean["status"] = int(status)
    retry_after = fault.get("retry_after")
    if clean.get("status") == 429 and retry_after is None:
        retry_after = 1  # a rate limit without a hint would leave clients guessing
    if retry_after is not None:
        if clean.get("status") not in _RETRY_AFTER_STATUSES:
            raise ValueError("retry_after only goes with status 429 or 503")
        clean["retry_after"] = _number(retry_after, "retry_after", 3600.0)
    for flag in ("malformed", "html", "echo_credential"):
        if flag in outcomes:
            if fault[flag] is not True:
                raise ValueError(f"{flag} must be true")
            clean[flag] = True
    if fault.get("delay") is not None:
        clean["delay"] = _number(fault["delay"], "delay", MAX_DELAY_SECONDS)
    return clean


def _number(value: Any, name: str, maximum: float) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name} must be a number of seconds")
    if not 0 <= value <= maximum:
        raise ValueError(f"{name} must be between 0 and {maximum:g} seconds")
    return value


class FaultSwitches:
    """A thread-safe FIFO of one-shot faults; each request takes at most one."""

    def __init__(self) -> None:
        # Tests push from their own thread while the server's loop takes in another.
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        # What echo_credential faults quoted back: a sweep searches every output for them.
        self.echoed: list[str] = []

    def push(self, fault: Fault, count: int = 1) -> None:
        """Queue `fault` for the next `count` requests (after any already queued)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        clean = validate_fault(fault)
        with self._lock:
            self._queue.extend(dict(clean) for _ in range(count))

    def clear(self) -> int:
        """Drop every queued fault; returns how many were dropped."""
        with self._lock:
            dropped = len(self._queue)
            self._queue.clear()
            return dropped

    def take(self) -> Fault | None:
        """Remove and return the next fault, or None when the queue is empty."""
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def pending(self) -> list[Fault]:
        """A snapshot of the queue, next fault first."""
        with self._lock:
            return [dict(fault) for fault in self._queue]

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)


@dataclass(frozen=True)
class FaultLook:
    """How a simulated vendor's forced answers read: the error messages by status, the
    gateway page, the truncated body, and (where its faults may drop) a dropped answer."""

    reasons: Mapping[int, str]
    html_page: str
    malformed_body: bytes
    dropped: Callable[[], Response] | None = None


NETSKOPE_LOOK = FaultLook(_REASONS, _HTML_PAGE, _MALFORMED_BODY)


async def apply_fault(
    fault: Fault, look: FaultLook = NETSKOPE_LOOK, credential: str | None = None
) -> Response | None:
    """Act out `fault`: sleep for its delay, then return the response it forces.

    None means the request should be handled normally (a pure delay). `credential` is
    what the request authenticated with, for `echo_credential`.
    """
    delay = fault.get("delay")
    if delay:
        await anyio.sleep(delay)
    if fault.get("drop") and look.dropped is not None:
        return look.dropped()
    status = fault.get("status")
    if status is not None:
        headers = {}
        if fault.get("retry_after") is not None:
            # Retry-After is whole delta-seconds; round up so clients never come back early.
            headers["Retry-After"] = str(math.ceil(fault["retry_after"]))
        return JSONResponse({"message": look.reasons[status]}, status_code=status, headers=headers)
    if fault.get("malformed"):
        return Response(look.malformed_body, status_code=200, media_type="application/json")
    if fault.get("html"):
        return Response(look.html_page, status_code=200, media_type="text/html")
    if fault.get("echo_credential"):
        return echo_response(credential)
    return None
