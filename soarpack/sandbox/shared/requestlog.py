"""The request log every simulated vendor writes, one entry per request, whatever the outcome.

The log belongs to the sandbox tenant (`RequestLog`, which `SandboxState` is), not to
one vendor: every endpoint of every vendor appends to it, the `/_sandbox/requests` admin
endpoint and tests read it. An endpoint sees only `Recorder`, the two calls it needs.

An entry is also left in the request's ASGI scope (under `LOG_ENTRY_SCOPE_KEY`), so
middleware outside the endpoint can note what only it sees: the Content-Encoding
actually served (`compression.py`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response

__all__ = ["LOG_ENTRY_SCOPE_KEY", "REDACTED", "Recorder", "RequestLog", "logged", "new_entry"]

#: What a masked secret reads as in the log.
REDACTED = "***"
#: Where a request's log entry sits in its ASGI scope.
LOG_ENTRY_SCOPE_KEY = "soarpack.sandbox.log_entry"


class Recorder(Protocol):
    """Where an endpoint's log entries go, and how their secrets are masked."""

    def redact(self, params: dict[str, Any]) -> dict[str, Any]: ...

    def log_request(self, entry: dict[str, Any]) -> None: ...


@dataclass
class RequestLog:
    """A tenant's request log, oldest first (a base of the tenant's dataclass)."""

    request_log: list[dict[str, Any]] = field(init=False, repr=False, default_factory=list)
    # The log is appended from the server's loop and read from test threads.
    _log_lock: threading.Lock = field(
        init=False, repr=False, compare=False, default_factory=threading.Lock
    )

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self.request_log.append(entry)

    def logged_requests(self) -> list[dict[str, Any]]:
        """A copy of the request log, oldest first."""
        with self._log_lock:
            return [dict(entry) for entry in self.request_log]

    def clear_request_log(self) -> int:
        with self._log_lock:
            dropped = len(self.request_log)
            self.request_log.clear()
            return dropped


def new_entry(
    state: Recorder,
    request: Request,
    query: dict[str, Any],
    body: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An entry for `request`, secrets masked; the answer fills in `fault` and `status`,
    and an app serving gzip (`compression.py`) the `encoding` it was answered in."""
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
    # None unless the app notes encodings: not answered, or served by an app without them.
    entry["encoding"] = None
    request.scope[LOG_ENTRY_SCOPE_KEY] = entry
    return entry


async def logged(state: Recorder, entry: dict[str, Any], answer: Awaitable[Response]) -> Response:
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
