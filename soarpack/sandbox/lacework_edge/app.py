"""A stateful simulator of a Lacework Edge tenant (API 1.0), built from operations.json.

`create_lacework_edge_app(state)` serves `state.lacework_edge` (a `LaceworkEdgeTenant`).
Its routes are the 93 operations of `schemas/lacework_edge/operations.json`, each at its
method and path template, or where `tenant.bindings` puts it ({action: {"method": M,
"path": P}}, read when the app is built; a bound path's parameters stand for the
template's in order). Literal segments win over parameters. Paths are relative to the
app, so it can be mounted under any prefix.

Every request, in this order:

1. is logged (`shared/requestlog.py`): method, path, query, headers with the auth header's
   value masked, JSON body with secrets masked, the action, the fault and the status;
2. takes the next queued fault that applies (`tenant.faults`, `faults.py`);
3. is authenticated (`auth.py`): 401 without a valid JWT;
4. is refused with 403 if it writes and `tenant.read_only` is set;
5. is validated against the operation's input schema (path parameters aside; query
   values coerced to the schema's types; each field where the operation puts it): 400
   naming the field;
6. is answered by the operation's handler with the first documented 2xx (200 {} where
   the document gives no success body), or the handler's refusal (404, 409, 400...).

Errors are the vendor's body, {"message": "..."}. An unknown path is 404 and a known
path with the wrong method 405, both in that body. `/_sandbox/faults` (GET, POST
{"fault": {...}, "count": N, "match": "alerts.investigate"}, DELETE) and
`/_sandbox/tenant` (GET: login count, accounts) drive the tenant over HTTP.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from soarpack.sandbox.lacework_edge.alerts import ALERT_HANDLERS
from soarpack.sandbox.lacework_edge.auth import AUTH_HANDLERS, credential, verify_jwt
from soarpack.sandbox.lacework_edge.data import seed_tenant
from soarpack.sandbox.lacework_edge.faults import apply_edge_fault
from soarpack.sandbox.lacework_edge.misc import MISC_HANDLERS
from soarpack.sandbox.lacework_edge.people import PEOPLE_HANDLERS
from soarpack.sandbox.lacework_edge.records import (
    generic_create,
    generic_get,
    generic_query,
    generic_update,
)
from soarpack.sandbox.lacework_edge.spec import Operation, load_operations, path_params
from soarpack.sandbox.lacework_edge.store import Call, EdgeError, LaceworkEdgeTenant, Record
from soarpack.sandbox.lacework_edge.workflows import WORKFLOW_HANDLERS
from soarpack.sandbox.shared.requestlog import REDACTED, Recorder, logged, new_entry

__all__ = ["HANDLERS", "LaceworkEdgeHost", "create_lacework_edge_app", "handler_for"]


class LaceworkEdgeHost(Recorder, Protocol):
    """What the app serves: the tenant, beside the request log and the sandbox's `token`
    and `seed` that the tenant's `api_key` and `seed` default to (`SandboxState` is one)."""

    lacework_edge: LaceworkEdgeTenant

    @property
    def token(self) -> str: ...

    @property
    def seed(self) -> int: ...


Handler = Callable[[Call], Record]
Endpoint = Callable[[Request], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {
    **AUTH_HANDLERS,
    **ALERT_HANDLERS,
    **WORKFLOW_HANDLERS,
    **PEOPLE_HANDLERS,
    **MISC_HANDLERS,
}
_GENERIC: dict[str, Handler] = {
    "query": generic_query,
    "get": generic_get,
    "get_metadata": generic_get,
    "download": generic_get,
    "create": generic_create,
    "update": generic_update,
}
_NO_JWT = frozenset({"auth.token_login", "auth.login"})
_SECRET_FIELDS = frozenset(
    {"token", "secret", "mfa_passcode", "credentials", "guest_user_api_token", "oauth_code"}
)


def handler_for(op: Operation) -> Handler:
    """The handler answering `op`: its own, else the generic one for its verb."""
    found = HANDLERS.get(op.short) or _GENERIC.get(op.verb)
    if found is None:
        raise ValueError(f"the simulator has no handler for {op.name}")
    return found


def _error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse({"message": message}, status_code=status, headers=headers)


def _parse_body(raw: bytes) -> tuple[dict[str, Any], str | None]:
    if not raw.strip():
        return {}, None
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {}, "body: is not valid JSON"
    if not isinstance(parsed, dict):
        return {}, "body: must be a JSON object"
    return parsed, None


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: REDACTED if k in _SECRET_FIELDS else _masked(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _masked_headers(tenant: LaceworkEdgeTenant, request: Request) -> dict[str, str]:
    headers = dict(request.headers.items())
    name = tenant.auth_header.lower()
    if name in headers:
        scheme = tenant.auth_scheme
        has_scheme = scheme and headers[name].lower().startswith(scheme.lower() + " ")
        headers[name] = f"{scheme} {REDACTED}" if has_scheme else REDACTED
    return headers


def _coerce(schema: dict[str, Any], values: list[str]) -> Any:
    kind = schema.get("type")
    if kind == "array":
        item = schema.get("items", {})
        return [_coerce(item, [v]) for v in values]
    value = values[-1]
    if kind == "integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if kind == "boolean" and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    return value


def _request_fields(op: Operation, query: QueryParams, body: dict[str, Any]) -> dict[str, Any]:
    """Query and body fields together, each checked to be where the operation puts it."""
    props = op.input_schema.get("properties", {})
    fields: dict[str, Any] = {}
    for key in query:
        if key not in op.query:
            raise EdgeError(400, f"{key}: is not a query parameter of {op.short}")
        fields[key] = _coerce(props.get(key, {}), query.getlist(key))
    for key, value in body.items():
        if key not in (op.body or ()):
            raise EdgeError(400, f"{key}: is not a field of the {op.short} request body")
        fields[key] = value
    problem = op.request_errors(fields)
    if problem is not None:
        raise EdgeError(400, problem)
    return fields


def _authenticate(tenant: LaceworkEdgeTenant, op: Operation, request: Request) -> dict[str, Any]:
    given = credential(tenant, request.headers)
    if op.short == "auth.token_login":
        return {"api_key": given}
    if op.short in _NO_JWT:
        return {}
    if given is None:
        scheme = f"{tenant.auth_scheme} " if tenant.auth_scheme else ""
        raise EdgeError(401, f"missing token: send {tenant.auth_header}: {scheme}<jwt>")
    if not given:
        raise EdgeError(
            401, f"malformed {tenant.auth_header} header: expected {tenant.auth_scheme} <jwt>"
        )
    return verify_jwt(tenant, given)


async def _answer(
    tenant: LaceworkEdgeTenant,
    op: Operation,
    names: tuple[str, ...],
    request: Request,
    body: dict[str, Any],
    body_error: str | None,
    entry: dict[str, Any],
) -> Response:
    fault = tenant.faults.take(op.name)
    if fault is not None:
        entry["fault"] = fault
        sent = credential(tenant, request.headers)
        if fault.get("echo_credential") and sent:
            tenant.faults.echoed.append(sent)
        forced = await apply_edge_fault(fault, sent)
        if forced is not None:
            return forced
    try:
        claims = _authenticate(tenant, op, request)
        if tenant.read_only and op.writes:
            raise EdgeError(403, f"the API key is read-only: {op.short} would change the tenant")
        if body_error is not None:
            raise EdgeError(400, body_error)
        fields = _request_fields(op, request.query_params, body)
        call = Call(
            tenant=tenant,
            op=op,
            params={
                mine: request.path_params[theirs]
                for mine, theirs in zip(op.path_params, names, strict=True)
            },
            query={key: fields[key] for key in request.query_params},
            body=body,
            claims=claims,
            client_ip=request.client.host if request.client else "",
        )
        with tenant.lock:
            payload = handler_for(op)(call)
            return JSONResponse(payload, status_code=op.success_status)
    except EdgeError as exc:
        return _error(exc.status, exc.message)


def _endpoint(state: LaceworkEdgeHost, op: Operation, names: tuple[str, ...]) -> Endpoint:
    tenant = state.lacework_edge

    async def endpoint(request: Request) -> Response:
        body, body_error = _parse_body(await request.body())
        headers = _masked_headers(tenant, request)
        entry = new_entry(state, request, dict(request.query_params), _masked(body), headers)
        entry["action"] = op.name
        return await logged(
            state, entry, _answer(tenant, op, names, request, body, body_error, entry)
        )

    return endpoint


def _specificity(path: str) -> tuple[int, ...]:
    return tuple(1 if "{" in part else 0 for part in path.strip("/").split("/"))


def _routes(state: LaceworkEdgeHost) -> list[Route]:
    tenant = state.lacework_edge
    operations = load_operations()
    unknown = [
        n for n in tenant.bindings if n not in operations and f"lacework_edge.{n}" not in operations
    ]
    if unknown:
        raise ValueError(f"bindings name unknown actions: {', '.join(sorted(unknown))}")
    planned: list[tuple[str, str, Operation, tuple[str, ...]]] = []
    taken: dict[tuple[str, str], str] = {}
    for op in operations.values():
        bound = tenant.bindings.get(op.name) or tenant.bindings.get(op.short) or {}
        method = str(bound.get("method", op.method)).upper()
        path = str(bound.get("path", op.path))
        names = path_params(path)
        if len(names) != len(op.path_params):
            raise ValueError(
                f"{op.name}: bound path {path} has {len(names)} parameters, "
                f"the operation {len(op.path_params)}"
            )
        shape = (method, re.sub(r"\{[^}]*\}", "{}", path))
        if shape in taken:
            raise ValueError(f"{op.name} and {taken[shape]} are both served at {method} {path}")
        taken[shape] = op.name
        handler_for(op)  # fail at build time, not on the first request
        planned.append((path, method, op, names))
    planned.sort(key=lambda item: (_specificity(item[0]), item[0], item[1]))
    return [
        Route(path, _endpoint(state, op, names), methods=[method], name=op.name)
        for path, method, op, names in planned
    ]


def _not_routed(state: LaceworkEdgeHost) -> Callable[[Request, Exception], Awaitable[Response]]:
    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 405:
            allowed = (exc.headers or {}).get("Allow", "")
            message = f"{request.method} is not allowed on {request.url.path}; use {allowed}"
        elif exc.status_code == 404:
            message = f"no operation at {request.method} {request.url.path}"
        else:
            message = exc.detail
        headers = _masked_headers(state.lacework_edge, request)
        entry = new_entry(state, request, dict(request.query_params), {}, headers)
        entry["status"] = exc.status_code
        state.log_request(entry)
        return _error(exc.status_code, message, exc.headers)

    return handler


def _from_loopback(request: Request) -> bool:
    host = request.client.host if request.client else None
    try:
        return not host or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # in-process callers may name themselves oddly


def _admin_routes(tenant: LaceworkEdgeTenant) -> list[Route]:
    async def faults(request: Request) -> Response:
        if not _from_loopback(request):
            return _error(404, "not found")
        if request.method == "GET":
            return JSONResponse({"pending": tenant.faults.pending()})
        if request.method == "DELETE":
            return JSONResponse({"cleared": tenant.faults.clear()})
        try:
            payload = json.loads(await request.body() or b"{}")
            if not isinstance(payload, dict) or "fault" not in payload:
                raise ValueError('send {"fault": {...}, "count": N, "match": "<action>"}')
            tenant.faults.push(
                payload["fault"], payload.get("count", 1), match=payload.get("match")
            )
        except ValueError as exc:
            return _error(400, str(exc))
        return JSONResponse({"pending": len(tenant.faults)})

    async def about(request: Request) -> Response:
        if not _from_loopback(request):
            return _error(404, "not found")
        return JSONResponse(
            {"logins": tenant.logins, "accounts": tenant.accounts, "read_only": tenant.read_only}
        )

    return [
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/tenant", about, methods=["GET"]),
    ]


def create_lacework_edge_app(state: LaceworkEdgeHost) -> Starlette:
    """An ASGI app serving `state.lacework_edge` as a Lacework Edge tenant (see above)."""
    tenant = state.lacework_edge
    tenant.adopt(seed=state.seed, api_key=state.token, seeder=seed_tenant)
    app = Starlette(
        routes=[*_routes(state), *_admin_routes(tenant)],
        exception_handlers={HTTPException: _not_routed(state)},
    )
    app.state.sandbox = state
    app.state.lacework_edge = tenant
    return app
