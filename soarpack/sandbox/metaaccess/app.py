"""A simulator of the OPSWAT MetaAccess API v3 endpoints soarpack uses.

    POST  the connection's token exchange          client credentials -> access token
    POST  metaaccess.devices.status_changed's path  devices whose status changed, by page

Both paths are read from the manifest (`shared/declared.py`) when the app is built:
the `metaaccess` connection's `auth.exchange.path` and the action's `http.path`.

It answers the way the vendor documents, quirks included: the token is read from the
`access_token` query parameter only (a token in a header or the body does not count),
a `limit` above 50 is a 406, a page beyond the last one a 413, and the account may make
10 requests a minute, whichever of its tokens makes them (429 with Retry-After beyond). The account lives in
`SandboxState.metaaccess` (`state.py`): credentials, issued tokens, the
limiter and its clock, queued faults and the seeded devices (`data.py`).
Every request is logged in the sandbox's request log with tokens and secrets masked.

Answers:

    200 {"access_token": ..., "token_type": "bearer", "expires_in": N}
    400 {"error": "unsupported_grant_type" | "invalid_request", "error_description": ...}
    401 {"error": "invalid_client", ...}            wrong client id or secret
    200 {"monitored_devices": [...], "deleted_devices": [...]}
    400 {"error": "invalid_request", "message": ...}  a parameter of the wrong type or range
    401 {"error": "invalid_token", "message": ...}    missing, unknown or expired token
    406 {"error": "not_acceptable", "message": ...}   limit outside [1, 50]
    413 {"error": "page_too_large", "message": ...}   page beyond the last page
    429 {"message": "API rate limit exceeded"}       with Retry-After
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from soarpack.sandbox.metaaccess.data import render
from soarpack.sandbox.metaaccess.state import MetaAccessState
from soarpack.sandbox.shared.bodies import read_params
from soarpack.sandbox.shared.declared import exchange_path, request_path
from soarpack.sandbox.shared.faults import apply_fault
from soarpack.sandbox.shared.requestlog import REDACTED, Recorder, logged, new_entry

__all__ = ["CONNECTION", "STATUS_CHANGED", "MetaAccessHost", "create_metaaccess_app"]

#: The manifest entries whose paths this simulator serves.
CONNECTION = "metaaccess"
STATUS_CHANGED = "metaaccess.devices.status_changed"
MAX_AGE = 86400
MAX_LIMIT = 50
DEFAULTS = {"age": MAX_AGE, "verbose": 0, "page": 1, "limit": 20}
_MASKED_KEYS = frozenset({"access_token", "client_secret"})

Answer = Callable[[MetaAccessState, dict[str, Any], dict[str, Any]], Response]


class MetaAccessHost(Recorder, Protocol):
    """What the app serves: the account, beside the request log (`SandboxState` is one)."""

    metaaccess: MetaAccessState


class _Refused(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.response = JSONResponse({"error": error, "message": message}, status_code=status)


def _masked(params: dict[str, Any]) -> dict[str, Any]:
    return {k: REDACTED if k in _MASKED_KEYS else v for k, v in params.items()}


def _endpoint(state: MetaAccessHost, answer: Answer) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        query = dict(request.query_params)
        body, body_error = await read_params(request)
        entry = new_entry(state, request, _masked(query), _masked(body))
        return await logged(state, entry, _respond(state, answer, entry, query, body, body_error))

    return endpoint


async def _respond(
    state: MetaAccessHost,
    answer: Answer,
    entry: dict[str, Any],
    query: dict[str, Any],
    body: dict[str, Any],
    body_error: str | None,
) -> Response:
    tenant = state.metaaccess
    fault = tenant.faults.take()
    if fault is not None:
        entry["fault"] = fault
        forced = await apply_fault(fault)
        if forced is not None:
            return forced
    if body_error is not None:
        return JSONResponse({"error": "invalid_request", "message": body_error}, status_code=400)
    try:
        return answer(tenant, query, body)
    except _Refused as refused:
        return refused.response


# --- POST the token exchange -----------------------------------------------------------


def _token(tenant: MetaAccessState, query: dict[str, Any], body: dict[str, Any]) -> Response:
    params = {**query, **body}  # the form body wins, as OAuth servers read it
    if params.get("grant_type") != "client_credentials":
        return JSONResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "Only grant_type=client_credentials is supported.",
            },
            status_code=400,
        )
    client_id, client_secret = params.get("client_id"), params.get("client_secret")
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        return JSONResponse(
            {
                "error": "invalid_request",
                "error_description": "client_id and client_secret are required.",
            },
            status_code=400,
        )
    if not tenant.client_matches(client_id, client_secret):
        return JSONResponse(
            {"error": "invalid_client", "error_description": "Client authentication failed."},
            status_code=401,
        )
    return JSONResponse(
        {
            "access_token": tenant.issue_token(),
            "token_type": "bearer",
            "expires_in": tenant.token_lifetime,
        }
    )


# --- POST devices/status_changed ---------------------------------------------------------


def _integer(body: dict[str, Any], name: str, low: int, high: int | None) -> int:
    value = body.get(name, DEFAULTS[name])
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused(400, "invalid_request", f"{name} must be an integer")
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise _Refused(400, "invalid_request", f"{name} must be {bounds}, got {value}")
    return value


def _status_changed(
    tenant: MetaAccessState, query: dict[str, Any], body: dict[str, Any]
) -> Response:
    token = query.get("access_token")
    if not isinstance(token, str) or not tenant.accepts(token):
        raise _Refused(401, "invalid_token", "The access token is missing, invalid or expired.")
    decision = tenant.hit_rate_limit()
    if not decision.allowed:
        return JSONResponse(
            {"message": "API rate limit exceeded"},
            status_code=429,
            headers={"Retry-After": str(decision.retry_after)},
        )
    age = _integer(body, "age", 0, MAX_AGE)
    verbose = _integer(body, "verbose", 0, 1)
    page = _integer(body, "page", 1, None)
    limit = body.get("limit", DEFAULTS["limit"])
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise _Refused(400, "invalid_request", "limit must be an integer")
    if not 1 <= limit <= MAX_LIMIT:
        raise _Refused(406, "not_acceptable", f"limit must be in [1,{MAX_LIMIT}], got {limit}")
    changed = tenant.changed_within(age)
    last_page = max(1, math.ceil(len(changed) / limit))
    if page > last_page:
        raise _Refused(
            413,
            "page_too_large",
            f"The requested page number is too large: there are {last_page} page(s).",
        )
    shown = changed[(page - 1) * limit : page * limit]
    return JSONResponse(
        {
            "monitored_devices": [render(d, verbose) for d in shown if not d.deleted],
            "deleted_devices": [render(d, verbose) for d in shown if d.deleted],
        }
    )


def create_metaaccess_app(state: MetaAccessHost) -> Starlette:
    """An ASGI app serving `state.metaaccess` as a MetaAccess account.

    The loopback sandbox mounts it under /metaaccess beside Netskope (`soarpack/sandbox/apps.py`).
    """
    routes = [
        Route(exchange_path(CONNECTION), _endpoint(state, _token), methods=["POST"]),
        Route(request_path(STATUS_CHANGED), _endpoint(state, _status_changed), methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app
