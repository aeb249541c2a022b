"""One-shot faults for the Lacework Edge simulator, like `shared/faults.py` plus a dropped line.

A fault is queued for the next request, or for the next request of one action
(`match="alerts.investigate"` or the full `lacework_edge.alerts.investigate`):

    {"status": 500}                   or 429 / 502 / 503 / 504 (429 and 503 take retry_after)
    {"malformed": true}               200 whose JSON body is cut off
    {"html": true}                    200 with a proxy's HTML error page
    {"drop": true}                    the connection drops mid-answer
    {"delay": 1.5}                    sleep, then answer normally (combines with the others)
    {"echo_credential": true}         400 quoting back the request's JWT or key in every form

Errors answer the vendor's error body, `{"message": "..."}`. A dropped connection starts
a 200 answer, sends a few bytes and breaks off: over loopback the client sees the peer
close the connection; in process (`InProcessTransport`) the same `httpx.RemoteProtocolError`
is raised from the request.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

import httpx
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from soarpack.sandbox.shared.faults import Fault, FaultLook, apply_fault, validate_fault

__all__ = ["ConnectionDropped", "DroppedConnection", "EdgeFaults", "apply_edge_fault"]

_REASONS = {
    429: "API rate limit exceeded",
    500: "internal error: the simulated tenant failed this request",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><p>The upstream Lacework Edge service did not answer."
    "</p></body></html>\n"
)
_MALFORMED_BODY = b'{"users": [{"uuid": "6c1f1f0e-9a57-4b1e-8c1d-2f0a'


class ConnectionDropped(httpx.RemoteProtocolError):
    """Raised by a dropped answer: what a client sees when the tenant hangs up."""


class DroppedConnection(Response):
    """A 200 that promises a body, sends two bytes of it and breaks the connection."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"512")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"', "more_body": True})
        raise ConnectionDropped("peer closed connection without sending complete message body")


def _validate(fault: Any) -> Fault:
    if not isinstance(fault, dict):
        raise ValueError("a fault must be a JSON object")
    if "drop" not in fault:
        return validate_fault(fault)
    if fault["drop"] is not True:
        raise ValueError("drop must be true")
    others = set(fault) - {"drop", "delay"}
    if others:
        raise ValueError(f"drop goes only with delay, not {', '.join(sorted(others))}")
    clean: Fault = {"drop": True}
    if fault.get("delay") is not None:
        clean.update(validate_fault({"delay": fault["delay"]}))
    return clean


class EdgeFaults:
    """A thread-safe FIFO of one-shot faults, each optionally for one action only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: deque[tuple[str | None, Fault]] = deque()
        # What echo_credential faults quoted back (the JWT a login issued, say).
        self.echoed: list[str] = []

    def push(self, fault: Fault, count: int = 1, *, match: str | None = None) -> None:
        """Queue `fault` for the next `count` requests (of action `match`, if given)."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive integer")
        clean = _validate(fault)
        key = match.removeprefix("lacework_edge.") if match else None
        with self._lock:
            self._queue.extend((key, dict(clean)) for _ in range(count))

    def take(self, action: str) -> Fault | None:
        """Remove and return the first queued fault that applies to `action`, if any."""
        short = action.removeprefix("lacework_edge.")
        with self._lock:
            for index, (match, fault) in enumerate(self._queue):
                if match is None or match == short:
                    del self._queue[index]
                    return fault
        return None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{"match": match, "fault": dict(fault)} for match, fault in self._queue]

    def clear(self) -> int:
        with self._lock:
            dropped = len(self._queue)
            self._queue.clear()
            return dropped

    def __len__(self) -> int:
        with self._lock:
            return len(self._queue)


_EDGE_LOOK = FaultLook(_REASONS, _HTML_PAGE, _MALFORMED_BODY, dropped=DroppedConnection)


async def apply_edge_fault(fault: Fault, credential: str | None = None) -> Response | None:
    """Act out `fault`: its delay, then the answer it forces (None: answer normally).
    `credential` is the one the request carried, for `echo_credential`."""
    return await apply_fault(fault, _EDGE_LOOK, credential)
