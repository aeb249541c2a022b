"""A simulator of the Netskope REST API v1: clients, alerts and report, each at the path
the manifest declares for its action (`V1_ACTIONS`, read through `shared/declared.py`).

It answers the way v1 does, quirks included: the token travels as a parameter (URL
query, JSON body or form body; the body wins), bad input comes back as HTTP 200 with
`"status": "error"`, and a bad token is a 403 (or, with `auth_failure_status=200`,
another error-in-a-200). `create_netskope_app` also mounts the REST v2 endpoints and
the `/_sandbox/` admin endpoints (`admin.py`); the app is only ever served on loopback
(see `shared/server.py`).
"""

from __future__ import annotations

import hmac
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from soarpack.sandbox.netskope.admin import admin_routes
from soarpack.sandbox.netskope.alerts import ALERT_TYPES
from soarpack.sandbox.netskope.clientstatus_api import clientstatus_routes
from soarpack.sandbox.netskope.dataexport import dataexport_routes
from soarpack.sandbox.netskope.query import Predicate, QueryError, compile_query, field_values
from soarpack.sandbox.netskope.seeded import Record
from soarpack.sandbox.netskope.tenant import NetskopeTenant
from soarpack.sandbox.netskope.v2_http import SentMeansTaken
from soarpack.sandbox.shared.bodies import content_type, read_params
from soarpack.sandbox.shared.compression import gzip_middleware
from soarpack.sandbox.shared.declared import request_path
from soarpack.sandbox.shared.faults import apply_fault
from soarpack.sandbox.shared.requestlog import logged, new_entry

__all__ = ["AUTH_ERROR_MESSAGE", "create_netskope_app"]

AUTH_ERROR_MESSAGE = "Invalid token. Check the REST API v1 token in Settings > Tools > REST API v1."
DEFAULT_LIMIT = 100
CLIENTS_MAX_LIMIT = 4999
ALERTS_MAX_LIMIT = 9999
TIMEPERIODS = (3600, 86400, 604800, 2592000, 5184000, 7776000)
# Report types that are event streams; the sandbox holds no events, so they report nothing.
EVENT_REPORT_TYPES = ("page", "application", "audit", "infrastructure", "network")
_ALERT_TYPES_BY_KEY = {name.lower(): name for name in ALERT_TYPES}
_TIME_GROUPS: tuple[tuple[str, ...], ...] = (
    ("timeperiod",),
    ("starttime", "endtime"),
    ("insertionstarttime", "insertionendtime"),
)
_TIME_GROUPS_TEXT = "timeperiod, starttime/endtime or insertionstarttime/insertionendtime"


class BadRequest(Exception):
    """Input the vendor would refuse; becomes a v1 error envelope in a 200."""


def _error_body(message: str) -> dict[str, Any]:
    return {"status": "error", "errorCode": "General Error", "errors": [message]}


# --- parameters ---------------------------------------------------------------------


class Params:
    """Merged request parameters, read the lenient way v1 reads them.

    Values from a URL or a form are strings, from JSON anything; both are accepted.
    An empty string counts as absent, as it does for a form field left blank.
    """

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (str, int, float)):
            return str(value)
        raise BadRequest(f"{name} must be a single value, not {type(value).__name__}")

    def integer(self, name: str, minimum: int, maximum: int | None = None) -> int | None:
        raw = self._values.get(name)
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise BadRequest(f"{name} must be an integer")
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an integer, got {raw!r}") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise BadRequest(f"{name} must be {bounds}, got {value}")
        return value

    def boolean(self, name: str) -> bool | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise BadRequest(f"{name} must be true or false, got {raw!r}")


def _page(params: Params, records: list[Record], max_limit: int) -> list[Record]:
    limit = params.integer("limit", 1, max_limit)
    skip = params.integer("skip", 0)
    start = skip or 0
    return records[start : start + (limit or DEFAULT_LIMIT)]


def _query_filter(params: Params) -> Predicate:
    try:
        return compile_query(params.text("query"))
    except QueryError as exc:
        raise BadRequest(f"Invalid query: {exc}") from None


def _time_filter(params: Params, now: int) -> Predicate:
    """The record test for the request's one time group; v1 insists on exactly one."""
    present = [g for g in _TIME_GROUPS if any(params.text(k) is not None for k in g)]
    if len(present) > 1:
        raise BadRequest(f"Use only one of {_TIME_GROUPS_TEXT}, not a combination")
    if not present:
        raise BadRequest(f"One of {_TIME_GROUPS_TEXT} is required")
    group = present[0]
    if group == ("timeperiod",):
        period = params.integer("timeperiod", 0)
        if period not in TIMEPERIODS:
            allowed = ", ".join(str(p) for p in TIMEPERIODS)
            raise BadRequest(f"timeperiod must be one of {allowed} (seconds), got {period}")
        oldest = now - period
        return lambda record: _epoch(record, "timestamp") > oldest
    start_key, end_key = group
    start = params.integer(start_key, 0)
    end = params.integer(end_key, 0)
    if start is None:
        raise BadRequest(f"{end_key} needs {start_key} as well")
    if end is None:
        raise BadRequest(f"{start_key} needs {end_key} as well")
    if start > end:
        raise BadRequest(f"{start_key} must not be after {end_key}")
    field = "timestamp" if start_key == "starttime" else "_insertion_epoch_timestamp"
    return lambda record: start < _epoch(record, field) <= end


def _epoch(record: Mapping[str, Any], field: str) -> int:
    value = record.get(field)
    return value if isinstance(value, int) else 0


def _acked_filter(params: Params) -> Predicate:
    acked = params.boolean("acked")
    if acked is None:
        return lambda record: True
    wanted = "true" if acked else "false"
    return lambda record: str(record.get("acked")).lower() == wanted


def _alert_type_filter(params: Params) -> Predicate:
    raw = params.text("type")
    if raw is None:
        return lambda record: True
    key = raw.lower()
    if key not in _ALERT_TYPES_BY_KEY:
        raise BadRequest(f"Invalid type {raw!r}; valid types are: {', '.join(ALERT_TYPES)}")
    return lambda record: str(record.get("alert_type", "")).lower() == key


def _alert_filters(params: Params, now: int) -> list[Predicate]:
    return [_time_filter(params, now), _acked_filter(params), _query_filter(params)]


# --- vendor endpoints ---------------------------------------------------------------


def _clients(state: NetskopeTenant, params: Params) -> list[Record]:
    matches = _query_filter(params)
    found = [client for client in state.clients if matches(client)]
    found.sort(key=lambda record: str(record.get("_id")))
    return _page(params, found, CLIENTS_MAX_LIMIT)


def _alerts(state: NetskopeTenant, params: Params) -> list[Record]:
    filters = [*_alert_filters(params, state.clock), _alert_type_filter(params)]
    found = [alert for alert in state.alerts if all(test(alert) for test in filters)]
    found.sort(key=lambda record: (-_epoch(record, "timestamp"), str(record.get("_id"))))
    return _page(params, found, ALERTS_MAX_LIMIT)


def _report(state: NetskopeTenant, params: Params) -> list[Record]:
    kind = params.text("type")
    kinds = ("alert", *EVENT_REPORT_TYPES)
    if kind is None or kind.lower() not in kinds:
        raise BadRequest(f"type must be one of {', '.join(kinds)}, got {kind!r}")
    groupby = params.text("groupby")
    if groupby is None:
        raise BadRequest("groupby is required: the field to count by, e.g. user")
    filters = _alert_filters(params, state.clock)
    if kind.lower() != "alert":
        return []
    counts: Counter[Any] = Counter()
    for alert in state.alerts:
        if all(test(alert) for test in filters):
            # A record counts once per distinct value, even if a list repeats it.
            values = {v for v in field_values(alert, groupby) if _groupable(v)}
            counts.update(values)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], _sort_key(item[0])))
    return [{groupby: value, "count": count} for value, count in ranked]


def _groupable(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _sort_key(value: Any) -> tuple[int, float, str]:
    # Numbers before strings, each in natural order, so mixed groups still sort.
    if isinstance(value, (int, float)):
        return (0, float(value), "")
    return (1, 0.0, str(value))


Handler = Callable[[NetskopeTenant, Params], list[Record]]

#: The manifest's v1 actions and what answers each, at its declared path (/api/v1/...).
V1_ACTIONS: dict[str, Handler] = {
    "netskope.clients.list": _clients,
    "netskope.alerts.list": _alerts,
    "netskope.alerts.report": _report,
}


async def _read_body(request: Request) -> tuple[dict[str, Any], str | None]:
    """The body's parameters, or an error message if it cannot be read as v1 would."""
    if content_type(request) == "multipart/form-data" and (await request.body()).strip():
        return {}, "Multipart bodies are not supported; send JSON or a urlencoded form"
    return await read_params(request)


def _vendor_endpoint(
    state: NetskopeTenant, handler: Handler
) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        query = dict(request.query_params)
        body, body_error = await _read_body(request)
        entry = new_entry(state, request, query, body)
        return await logged(state, entry, _answer(state, handler, entry, query, body, body_error))

    return endpoint


async def _answer(
    state: NetskopeTenant,
    handler: Handler,
    entry: dict[str, Any],
    query: dict[str, Any],
    body: dict[str, Any],
    body_error: str | None,
) -> Response:
    fault = state.faults.take()
    if fault is not None:
        entry["fault"] = fault
        sent = {**query, **body}.get("token")
        sent = sent if isinstance(sent, str) else None
        if fault.get("echo_credential") and sent:
            state.faults.echoed.append(sent)
        forced = await apply_fault(fault, credential=sent)
        if forced is not None:
            return forced
    if body_error is not None:
        return JSONResponse(_error_body(body_error))
    params = {**query, **body}
    token = params.get("token")
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), state.token.encode()):
        return JSONResponse(_error_body(AUTH_ERROR_MESSAGE), status_code=state.auth_failure_status)
    try:
        data = handler(state, Params(params))
    except BadRequest as exc:
        return JSONResponse(_error_body(str(exc)))
    return JSONResponse({"status": "success", "msg": "", "data": data})


def create_netskope_app(state: NetskopeTenant) -> Starlette:
    """An ASGI app serving `state` as a Netskope tenant, plus the `/_sandbox/` admin.

    One app answers REST v1 (this module), the v2 data-export iterator
    (`dataexport.py`) and the v2 Client Status iterator (`clientstatus_api.py`), each
    gzipped when the request asks for it (`shared/compression.py`).
    """
    vendor_methods = ["GET", "POST"]
    routes = [
        *(
            Route(request_path(action), _vendor_endpoint(state, handler), methods=vendor_methods)
            for action, handler in V1_ACTIONS.items()
        ),
        *dataexport_routes(state),
        *clientstatus_routes(state),
        *admin_routes(state),
    ]
    # Tenants gzip their answers when asked; a data-export page is ~12 MB uncompressed.
    # Outermost, so that a v2 request stays in flight until its final body is taken.
    middleware = [Middleware(SentMeansTaken), *gzip_middleware()]
    app = Starlette(routes=routes, middleware=middleware)
    app.state.sandbox = state
    return app
