"""The request pipeline every REST v2 endpoint of the sandbox shares.

Steps, in order, and why in that order:

1. Rate limit, per (token, endpoint path), 4 per second. Counted before the token is
   checked, as a gateway in front of the tenant would, so every answer (403s too)
   carries real `RateLimit-*` headers. Tokens are keyed by a digest, never kept raw.
2. The `Netskope-Api-Token` header, compared in constant time: 403 if wrong.
3. The endpoint's validation (404 unknown type or index, 400 bad parameters). Its
   refusal is answered after any queued fault, as v1 answers faults first.
4. The in-flight guard for the resource the request touches: 409 if another request
   for it is still being answered. A request holds it from here until its answer's
   last byte has been handed to the connection (or the sending failed), as a tenant
   does while it streams a page: two consumers calling `next` on one index at once
   get one page and one 409, never the stream split between them. A refused request
   leaves queued faults queued.
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soarpack.sandbox.netskope.tenant import NetskopeTenant
from soarpack.sandbox.shared.faults import Fault, apply_fault
from soarpack.sandbox.shared.requestlog import REDACTED, logged, new_entry

__all__ = [
    "TOKEN_HEADER",
    "V2_AUTH_ERROR_MESSAGE",
    "HeldUntilSent",
    "Plan",
    "Planner",
    "SentMeansTaken",
    "v2_endpoint",
    "v2_error",
]

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
        # A forced 429 (a queued fault) must not advertise quota it is refusing, nor a
        # reset sooner than its Retry-After: clients such as netskopesdk sleep out
        # RateLimit-Reset when none remain.
        response.headers["RateLimit-Remaining"] = "0"
        retry_after = response.headers.get("Retry-After", "0")
        if int(retry_after) > int(response.headers["RateLimit-Reset"]):
            response.headers["RateLimit-Reset"] = retry_after
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
    guard = plan.guard
    if guard is None:
        forced = await _take_fault(state, entry)
        return forced if forced is not None else plan.run()
    if not state.in_flight.acquire(guard):
        return v2_error(409, plan.busy_message)
    try:
        forced = await _take_fault(state, entry)
        answer = forced if forced is not None else plan.run()
    except BaseException:
        # Cancelled (a caller's timeout) or failed: nothing will be sent, free it now.
        state.in_flight.release(guard)
        raise
    return HeldUntilSent(answer, lambda: state.in_flight.release(guard))


class HeldUntilSent(Response):
    """`answer`, with `release` called once it has been sent, or its sending has failed.

    Returning from the endpoint is not the end of a request: a 10,000-record page is
    then compressed and written out, during which the tenant is still serving it.
    "Sent" means the connection has taken the body (see `SentMeansTaken`). The body
    is shared with `answer`, not copied.
    """

    def __init__(self, answer: Response, release: Callable[[], None]) -> None:
        super().__init__(answer.body, answer.status_code)
        self.raw_headers = list(answer.raw_headers)
        self.background = answer.background
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def _take_fault(state: NetskopeTenant, entry: dict[str, Any]) -> Response | None:
    fault: Fault | None = state.faults.take()
    if fault is None:
        return None
    entry["fault"] = fault
    return await apply_fault(fault)


class SentMeansTaken:
    """ASGI middleware: an app's sending of its last body returns once the connection
    has taken it, not merely buffered it.

    uvicorn waits for a congested connection to drain before writing a body message,
    not after, so the last one returns at once however much of it is still queued. An
    empty closing message after it makes that wait happen while the app is still
    sending. It goes outermost, after gzip has made the final body; the Content-Length
    that frames the answer stays as it was.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def taken(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await send({**message, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            else:
                await send(message)

        await self.app(scope, receive, taken)
