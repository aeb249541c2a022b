"""Request ids and the structured access log: one JSON line per request.

    {"request_id", "method", "route", "action", "playbook", "run_id", "key", "status",
     "duration_ms"}

on the logger `soarpack.server.access`. `route` is the route's template
(`/actions/{name}`), never the raw path; no query string, body or header is logged,
so neither a caller's key nor a vendor credential can reach the log. Endpoints add
what they know (action, run id, key id) to `scope["state"]["access"]`.

Every response carries `X-Request-ID`: the caller's own, when it is a sane token,
else a fresh one; error bodies repeat it.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soarpack.server.errors import error_response

log = logging.getLogger("soarpack.server.access")

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
FIELDS = ("action", "playbook", "run_id", "step", "key")


def request_id_of(scope: Scope) -> str:
    state: dict[str, Any] = scope.setdefault("state", {})
    found = state.get("request_id")
    return str(found) if found else ""


def note(scope: Scope, **fields: str | None) -> None:
    """Record what the access log line should say about this request."""
    state: dict[str, Any] = scope.setdefault("state", {})
    state.setdefault("access", {}).update(fields)


def _incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = bytes(value).decode("latin-1")
            if _SANE_ID.match(text):
                return text
    return uuid.uuid4().hex


class AccessLog:
    """ASGI middleware: request id in, X-Request-ID out, one log line, last-resort 500."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        request_id = _incoming_id(scope)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["access"] = {}
        outcome = {"status": 0}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                outcome["status"] = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # the endpoints render their errors; this is a bug
            if outcome["status"]:
                raise  # the answer has begun: nothing sane can be sent any more
            await error_response(exc, request_id)(scope, receive, send_with_id)
        finally:
            self._log(scope, request_id, outcome["status"], started)

    @staticmethod
    def _log(scope: Scope, request_id: str, status: int, started: float) -> None:
        if not log.isEnabledFor(logging.INFO):
            return
        noted: dict[str, Any] = scope.get("state", {}).get("access", {})
        line: dict[str, Any] = {
            "request_id": request_id,
            "method": scope.get("method"),
            "route": noted.get("route"),
        }
        line.update({name: noted[name] for name in FIELDS if noted.get(name) is not None})
        line["status"] = status
        line["duration_ms"] = round((time.perf_counter() - started) * 1000, 2)
        log.info("%s", json.dumps(line, separators=(",", ":")))
