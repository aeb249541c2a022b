"""The HTTP action server's routing table and request pipeline: a Starlette app over one
Service (service.py: the engine, the key ring, the run manager); the handlers are in
endpoints.py.

    GET  /healthz                          liveness, no key
    GET  /openapi.json                     the generated OpenAPI 3.1 document
    GET  /actions                          the actions this key may call
    GET  /actions/{name}                   one action's schemas and side effect
    POST /actions/{name}                   invoke it; the body is its inputs object
    POST /playbooks/{name}/runs            start a run in the background -> 202 + run id
    GET  /runs/{run_id}                    the run's status, steps, outputs and journal
    POST /runs/{run_id}/approvals/{step}   approve or reject a waiting step; resumes the run
    POST /runs/{run_id}/steps/{step}/mark-done   settle a step in doubt as done; resumes it

A step may hold slashes (`sub/remove`, a step of a sub-playbook); seeing or deciding a
run needs a key whose `playbooks` patterns match the run's playbook (and `approve`).

Every request goes: request id -> key (one Authorization header) -> a POST's whole body,
within server.body_timeout (408, 413) -> the key's rate and concurrency -> what the
route needs (404, scope 403, body 400) -> the engine, in a worker thread, bounded
by the action timeout. Errors are rendered by errors.py and nowhere else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from soarpack.server.accesslog import AccessLog, note, request_id_of
from soarpack.server.endpoints import Endpoints, Handler
from soarpack.server.errors import (
    BadHeaders,
    HttpProblem,
    MethodNotAllowed,
    NotFound,
    error_response,
)
from soarpack.server.limits import read_body
from soarpack.server.service import Service


def create_app(service: Service) -> Starlette:
    api = Endpoints(service)

    def keyed(template: str, methods: list[str], handler: Handler) -> Route:
        return _keyed(service, template, methods, handler)

    routes = [
        Route("/healthz", api.healthz, methods=["GET"]),
        keyed("/openapi.json", ["GET"], api.openapi),
        keyed("/actions", ["GET"], api.list_actions),
        keyed("/actions/{name}", ["GET", "POST"], api.action),
        keyed("/playbooks/{name}/runs", ["POST"], api.start_run),
        keyed("/runs/{run_id}", ["GET"], api.get_run),
        # `path` takes slashes (a sub-playbook's steps are `sub/remove`); it is greedy,
        # but the regex backtracks, so the literal `/mark-done` ends the match. Neither
        # prefix is another route's, so order does not matter.
        keyed("/runs/{run_id}/approvals/{step:path}", ["POST"], api.decide),
        keyed("/runs/{run_id}/steps/{step:path}/mark-done", ["POST"], api.mark_done),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await anyio.to_thread.run_sync(service.close)

    app = Starlette(
        routes=routes,
        middleware=[Middleware(AccessLog)],
        exception_handlers={HTTPException: _http_exception},
        lifespan=lifespan,
    )
    # `/actions/NAME/` is our 404, never a redirect: Starlette's would build its Location
    # from the caller's Host header.
    app.router.redirect_slashes = False
    app.state.service = service
    return app


def _authorization(request: Request) -> str | None:
    """The one Authorization header, or BadHeaders: with two, which counts would depend
    on the reader (a proxy may check one and we the other)."""
    found = request.headers.getlist("authorization")
    if len(found) > 1:
        raise BadHeaders(f"The request has {len(found)} Authorization headers; send one.")
    return found[0] if found else None


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no such route) and 405 (wrong method), as our JSON errors."""
    assert isinstance(exc, HTTPException)
    problem: HttpProblem
    if exc.status_code == 405:
        allow = (exc.headers or {}).get("Allow")
        problem = MethodNotAllowed(f"{request.method} is not allowed here.", allow=allow)
    elif exc.status_code == 404:
        problem = NotFound("No such endpoint; GET /openapi.json lists them.")
    else:
        problem = HttpProblem(str(exc.detail))
        problem.status = exc.status_code
    return error_response(problem, request_id_of(request.scope))


def _keyed(service: Service, template: str, methods: list[str], handler: Handler) -> Route:
    """A route whose requests are authenticated, limited, and rendered on error."""

    async def endpoint(request: Request) -> Response:
        note(request.scope, route=template)
        try:
            caller = service.keys.authenticate(_authorization(request))
            note(request.scope, key=caller.id)
            if request.method == "POST":
                # The whole body first, within its timeout: a caller trickling one
                # byte at a time must not hold one of the key's slots meanwhile.
                settings = service.settings
                await read_body(request, settings.max_body_bytes, settings.body_timeout)
            with service.limits.slot(caller.id, caller.scope):
                return await handler(request, caller)
        except Exception as exc:  # the server's boundary: every error becomes JSON
            return error_response(exc, request_id_of(request.scope))

    return Route(template, endpoint, methods=methods)
