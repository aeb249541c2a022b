"""The request pipeline every REST v2 endpoint of the sandbox shares.

Steps, in order, and why in that order:

1. Rate limit, per (token, endpoint path), 4 per second. Counted before the token is
   checked, as a gateway in front of the tenant would, so every answer (403s too)
   carries real `RateLimit-*` headers. Tokens are keyed by a digest, never kept raw.
2. The `Netskope-Api-Token` header, compared in constant time: 403 if wrong.
3. The endpoint's validation (404 unknown type or index, 400 bad parameters). Its
   refusal is answered after any queued fault, as v1 answers faults first.
4. The in-flight guard for the resource the request touches: 409 if another request
   for it is still being answered. A refused request leaves queued faults queued.
5. A queued fault (`shared/faults.py`), taken only now: a `delay` lingers while holding the
   guard, which is how tests overlap two requests; a forced answer moves nothing.
6. The handler: the only step that may move a cursor.

Every request is logged like v1's, with the header token masked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from soarpack.sandbox.netskope.tenant import NetskopeTenant
from soarpack.sandbox.shared.faults import Fault, apply_fault
from soarpack.sandbox.shared.requestlog import REDACTED, logged, new_entry

__all__ = ["TOKEN_HEADER", "V2_AUTH_ERROR_MESSAGE", "Plan", "Planner", "v2_endpoint", "v2_error"]

TOKEN_HEADER = "Netskope-Api-Token"
V2_AUTH_ERROR_MESSAGE = (
    "Invalid token. Check the API v2 token is associated to this endpoint and not expired."
)
RATE_LIMIT_MESSAGE = "API rate limit exceeded"


@dataclass(frozen=True)
class Plan:
    """A validated request: what to run, and the resource it must hold while running."""

    run: Callable[[], Response]
    guard: tuple[str, ...] | None = None
    busy_message: str = "Concurrent requests for this resource are not supported."


# Validates a request: a Plan to carry out, or the refusal to send.
Planner = Callable[[Request], Plan | Response]


def v2_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"ok": 0, "message": message}, status_code=status)


def v2_endpoint(
    state: NetskopeTenant, planner: Planner
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        token = request.headers.get(TOKEN_HEADER)
        # Presence only: the header's value is never written down.
        headers = {TOKEN_HEADER: REDACTED} if token is not None else {}
        entry = new_entry(state, request, dict(request.query_params), {}, headers)
        return await logged(state, entry, _answer(state, planner, request, token, entry))

    return endpoint


async def _answer(
    state: NetskopeTenant,
    planner: Planner,
    request: Request,
    token: str | None,
    entry: dict[str, Any],
) -> Response:
    limiter = state.rate_limiter
    if state.v2_rate_limit:
        digest = hashlib.sha256((token or "").encode()).hexdigest()
        decision = limiter.hit((digest, request.url.path))
    else:
        decision = limiter.unlimited()
    if not decision.allowed:
        response: Response = JSONResponse({"message": RATE_LIMIT_MESSAGE}, status_code=429)
    elif not _authentic(state, token):
        response = v2_error(403, V2_AUTH_ERROR_MESSAGE)
    else:
        response = await _guarded(state, planner(request), entry)
    response.headers.update(decision.headers())
    if response.status_code == 429:
        # A forced 429 (a queued fault) must not advertise quota it is refusing.
        response.headers["RateLimit-Remaining"] = "0"
    return response


def _authentic(state: NetskopeTenant, token: str | None) -> bool:
    expected = state.api_v2_token
    if not token or not expected:
        return False  # an empty token must never match an empty configured one
    return hmac.compare_digest(token.encode(), expected.encode())


async def _guarded(state: NetskopeTenant, plan: Plan | Response, entry: dict[str, Any]) -> Response:
    if isinstance(plan, Response):
        forced = await _take_fault(state, entry)
        return forced if forced is not None else plan
    if plan.guard is not None and not state.in_flight.acquire(plan.guard):
        return v2_error(409, plan.busy_message)
    try:
        forced = await _take_fault(state, entry)
        return forced if forced is not None else plan.run()
    finally:
        if plan.guard is not None:
            state.in_flight.release(plan.guard)


async def _take_fault(state: NetskopeTenant, entry: dict[str, Any]) -> Response | None:
    fault: Fault | None = state.faults.take()
    if fault is None:
        return None
    entry["fault"] = fault
    return await apply_fault(fault)
