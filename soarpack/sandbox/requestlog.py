"""The request log entry every vendor endpoint (v1 and v2) writes, whatever the outcome."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from soarpack.sandbox.state import SandboxState


def new_entry(
    state: SandboxState,
    request: Request,
    query: dict[str, Any],
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An entry for `request`, secrets masked; the answer fills in `fault` and `status`."""
    entry: dict[str, Any] = {
        "time": time.time(),
        "method": request.method,
        "path": request.url.path,
        "query": state.redact(query),
        "body": state.redact(body),
    }
    if headers is not None:
        entry["headers"] = headers
    entry["fault"] = None
    # Stays 499 only if the caller went away mid-answer (a delay outlasting an
    # in-process timeout), so the log still shows the attempt.
    entry["status"] = 499
    return entry


async def logged(
    state: SandboxState, entry: dict[str, Any], answer: Awaitable[Response]
) -> Response:
    """Await `answer`, record its status (500 if it raised) and log `entry`."""
    try:
        response = await answer
        entry["status"] = response.status_code
        return response
    except Exception:
        entry["status"] = 500
        raise
    finally:
        state.log_request(entry)
