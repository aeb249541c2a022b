"""The sandbox's own admin endpoints under `/_sandbox/`, for tests and demos.

    GET|POST|DELETE /_sandbox/faults     queued faults: list, push {"fault": {...}, "count": N}, clear
    GET|DELETE      /_sandbox/requests   the request log: read, clear
    GET|POST        /_sandbox/events     REST v2 record counts per stream; append
                                         {"kind": "events/page" | ... | "clientstatus", "count": N}

They answer loopback callers only; the server binds loopback anyway (`shared/server.py`).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from soarpack.sandbox.netskope.events import CLIENTSTATUS_KIND
from soarpack.sandbox.netskope.tenant import NetskopeTenant

__all__ = ["admin_routes"]

Endpoint = Callable[[Request], Awaitable[Response]]


def _from_loopback(request: Request) -> bool:
    # Defence in depth behind start_server's loopback-only bind. Only a parseable
    # non-loopback address is refused: in-process callers may name themselves oddly.
    host = request.client.host if request.client else None
    if not host:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def _not_found() -> Response:
    return JSONResponse({"status": "error", "error": "not found"}, status_code=404)


def _admin_faults(state: NetskopeTenant) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if not _from_loopback(request):
            return _not_found()
        if request.method == "GET":
            return JSONResponse({"status": "ok", "pending": state.faults.pending()})
        if request.method == "DELETE":
            return JSONResponse({"status": "ok", "cleared": state.faults.clear()})
        try:
            payload = json.loads(await request.body() or b"{}")
            if not isinstance(payload, dict) or "fault" not in payload:
                raise ValueError('send {"fault": {...}, "count": N}')
            state.faults.push(payload["fault"], payload.get("count", 1))
        except ValueError as exc:  # JSONDecodeError is a ValueError too
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=400)
        return JSONResponse({"status": "ok", "pending": len(state.faults)})

    return endpoint


def _admin_requests(state: NetskopeTenant) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if not _from_loopback(request):
            return _not_found()
        if request.method == "DELETE":
            return JSONResponse({"status": "ok", "cleared": state.clear_request_log()})
        return JSONResponse({"status": "ok", "requests": state.logged_requests()})

    return endpoint


def _stream_count(state: NetskopeTenant, kind: str) -> int:
    if kind == CLIENTSTATUS_KIND:
        return state.clientstatus.events.count
    return state.streams[kind].count


def _admin_events(state: NetskopeTenant) -> Endpoint:
    async def endpoint(request: Request) -> Response:
        if not _from_loopback(request):
            return _not_found()
        if request.method == "GET":
            counts = state.streams.counts()
            counts[CLIENTSTATUS_KIND] = _stream_count(state, CLIENTSTATUS_KIND)
            return JSONResponse({"status": "ok", "counts": counts})
        try:
            payload = json.loads(await request.body() or b"{}")
            if not isinstance(payload, dict) or not isinstance(payload.get("kind"), str):
                raise ValueError('send {"kind": "events/page", "count": N}')
            kind = payload["kind"]
            state.append_events(kind, payload.get("count", 1))
        except ValueError as exc:  # JSONDecodeError is a ValueError too
            return JSONResponse({"status": "error", "error": str(exc)}, status_code=400)
        return JSONResponse({"status": "ok", "kind": kind, "count": _stream_count(state, kind)})

    return endpoint


def admin_routes(state: NetskopeTenant) -> list[Route]:
    return [
        Route("/_sandbox/faults", _admin_faults(state), methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/requests", _admin_requests(state), methods=["GET", "DELETE"]),
        Route("/_sandbox/events", _admin_events(state), methods=["GET", "POST"]),
    ]
