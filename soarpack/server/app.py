"""The HTTP action server: a Starlette app over one Engine, one key ring, one run manager.

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

import functools
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from soarpack import docs
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.errors import shortened
from soarpack.pack import Pack
from soarpack.playbook import session
from soarpack.playbook.history import show_run
from soarpack.playbook.journal import runs_dir
from soarpack.playbook.validate import load_playbook
from soarpack.server.accesslog import AccessLog, note, request_id_of
from soarpack.server.auth import Caller, KeyRing
from soarpack.server.bodies import decision, json_object, mark_request, run_request
from soarpack.server.errors import (
    BadHeaders,
    Forbidden,
    HttpProblem,
    MethodNotAllowed,
    NotFound,
    error_response,
    json_response,
)
from soarpack.server.exposure import unserved_actions
from soarpack.server.limits import KeyLimits, read_body
from soarpack.server.openapi import build_openapi
from soarpack.server.runs import (
    RunManager,
    actions_used,
    playbook_of_run,
    playbook_path,
    run_exists,
)
from soarpack.server.settings import ServerSettings, load_server_settings

Handler = Callable[[Request, Caller], Awaitable[Response]]


@dataclass
class Service:
    """Everything the endpoints share. Close it to let runs pause and free the engine."""

    pack: Pack
    engine: Engine
    settings: ServerSettings
    keys: KeyRing
    runs: RunManager
    limits: KeyLimits = field(default_factory=KeyLimits)
    _openapi: dict[str, Any] | None = field(default=None, init=False)
    _openapi_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _closed: bool = field(default=False, init=False)
    _left: list[str] = field(default_factory=list, init=False)
    # Actions whose inputs are local paths: never served (exposure.py).
    unserved: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.unserved = unserved_actions(self.pack)

    def openapi(self) -> dict[str, Any]:
        with self._openapi_lock:
            if self._openapi is None:
                self._openapi = build_openapi(self.pack)
            return self._openapi

    def close(self) -> list[str]:
        """Give runs the grace period to pause, then close the engine; returns the runs
        still going (left resumable)."""
        if self._closed:
            return self._left
        self._closed = True
        self._left = self.runs.close(self.settings.shutdown_grace)
        if not self._left:
            # Runs still going keep their engine: the process ending stops them, and
            # their journals make them resumable; closing it would fail their calls.
            self.engine.close()
        return self._left


def build_service(
    pack: Pack,
    config: Config,
    *,
    engine: Engine,
    allow_anonymous: bool = False,
    settings: ServerSettings | None = None,
) -> Service:
    """The service for this pack and config over `engine`: the caller picks it (local or
    Celery, by `server.executor`: `soarpack serve` does), so the server knows no executor."""
    settings = settings or load_server_settings(config)
    keys = KeyRing(settings.keys, settings.anonymous if allow_anonymous else None)
    folder = runs_dir(settings.runs_dir, config.env)
    return Service(pack, engine, settings, keys, RunManager(engine, folder))


def create_app(service: Service) -> Starlette:
    api = _Api(service)
    routes = [
        Route("/healthz", api.healthz, methods=["GET"]),
        api.route("/openapi.json", ["GET"], api.openapi),
        api.route("/actions", ["GET"], api.list_actions),
        api.route("/actions/{name}", ["GET", "POST"], api.action),
        api.route("/playbooks/{name}/runs", ["POST"], api.start_run),
        api.route("/runs/{run_id}", ["GET"], api.get_run),
        # `path` takes slashes (a sub-playbook's steps are `sub/remove`); it is greedy,
        # but the regex backtracks, so the literal `/mark-done` ends the match. Neither
        # prefix is another route's, so order does not matter.
        api.route("/runs/{run_id}/approvals/{step:path}", ["POST"], api.decide),
        api.route("/runs/{run_id}/steps/{step:path}/mark-done", ["POST"], api.mark_done),
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


class _Api:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.pack = service.pack

    def route(self, template: str, methods: list[str], handler: Handler) -> Route:
        """A route whose requests are authenticated, limited, and rendered on error."""

        async def endpoint(request: Request) -> Response:
            note(request.scope, route=template)
            try:
                caller = self.service.keys.authenticate(_authorization(request))
                note(request.scope, key=caller.id)
                if request.method == "POST":
                    # The whole body first, within its timeout: a caller trickling one
                    # byte at a time must not hold one of the key's slots meanwhile.
                    settings = self.service.settings
                    await read_body(request, settings.max_body_bytes, settings.body_timeout)
                with self.service.limits.slot(caller.id, caller.scope):
                    return await handler(request, caller)
            except Exception as exc:  # the server's boundary: every error becomes JSON
                return error_response(exc, request_id_of(request.scope))

        return Route(template, endpoint, methods=methods)

    async def _json_body(self, request: Request, where: str) -> dict[str, Any]:
        """The body (already read by the route) as a JSON object, decoded in a worker
        thread: checking a hostile megabyte takes a good fraction of a second, which
        would stall every other request on the event loop."""
        settings = self.service.settings
        raw = await read_body(request, settings.max_body_bytes, settings.body_timeout)
        return await anyio.to_thread.run_sync(json_object, raw, where)

    async def healthz(self, request: Request) -> Response:
        note(request.scope, route="/healthz")
        return json_response({"status": "ok"})

    async def openapi(self, request: Request, caller: Caller) -> Response:
        return json_response(await anyio.to_thread.run_sync(self.service.openapi))

    async def list_actions(self, request: Request, caller: Caller) -> Response:
        served = [s for s in self.pack.actions.values() if s.name not in self.service.unserved]
        specs = sorted(caller.visible(served), key=lambda s: s.name)
        return json_response(
            [
                {
                    "name": s.name,
                    "title": s.title,
                    "description": " ".join(s.description.split()),
                    "connection": s.connection,
                    "side_effect": s.side_effect,
                }
                for s in specs
            ]
        )

    async def action(self, request: Request, caller: Caller) -> Response:
        name = request.path_params["name"]
        note(request.scope, action=name)
        spec = self.pack.actions.get(name)
        if spec is None:
            raise NotFound(f"Unknown action {shortened(repr(name))}.")
        if name in self.service.unserved:
            raise NotFound(
                f"{name} is not served over HTTP: its inputs are paths on the server's disk. "
                "Run it with the soarpack CLI on the machine that keeps the files."
            )
        refusal = caller.action_refusal(spec)
        if refusal:
            raise Forbidden(refusal)
        if request.method != "POST":  # GET, or the HEAD Starlette adds to every GET
            return json_response(self._describe(name))
        inputs = await self._json_body(request, name)
        deadline = time.monotonic() + self.service.settings.action_timeout
        # What allowed a destructive call (the key's scope), for a worker to check.
        granted = {"granted": "api_key", "api_key": caller.id}
        call = functools.partial(
            self.service.engine.invoke,
            name,
            inputs,
            deadline=deadline,
            approval=granted if spec.side_effect == "destructive" else None,
        )
        result = await anyio.to_thread.run_sync(call)
        return json_response(result.to_dict())

    def _describe(self, name: str) -> dict[str, Any]:
        spec = self.pack.actions[name]
        return {
            "name": spec.name,
            "title": spec.title,
            "description": " ".join(spec.description.split()),
            "connection": spec.connection,
            "side_effect": spec.side_effect,
            "side_effect_reason": spec.side_effect_reason,
            "accepts": docs.accepts(self.pack, spec),
            "produces": docs.produces(self.pack, spec),
            "inputs": docs.input_rows(self.pack, spec),
            "rules": docs.rules(self.pack, spec),
            "input": spec.input,
            "output": spec.output,
            "examples": spec.examples,
        }

    async def start_run(self, request: Request, caller: Caller) -> Response:
        name = request.path_params["name"]
        note(request.scope, playbook=name)
        path = playbook_path(self.pack, name)
        if not caller.may_run(name):
            raise Forbidden(f"This API key may not start the {name} playbook.")
        used = await anyio.to_thread.run_sync(
            lambda: actions_used(load_playbook(path, self.pack), self.pack)
        )
        for spec in used.values():
            if spec.name in self.service.unserved:
                raise Forbidden(
                    f"The {name} playbook runs {spec.name}, which is not served over HTTP "
                    "(its inputs are paths on the server's disk)."
                )
            refusal = caller.action_refusal(spec)
            if refusal:
                raise Forbidden(f"The {name} playbook runs {spec.name}. {refusal}")
        body = await self._json_body(request, name)
        inputs, dry_run = run_request(body, name)
        start = functools.partial(self.service.runs.start, path, inputs, dry_run)
        run_id = await anyio.to_thread.run_sync(start)
        note(request.scope, run_id=run_id)
        link = f"/runs/{run_id}"
        return json_response(
            {"run_id": run_id, "status": "running", "links": {"run": link}},
            202,
            {"Location": link},
        )

    async def get_run(self, request: Request, caller: Caller) -> Response:
        run_id = self._run_id(request)
        shown = await anyio.to_thread.run_sync(show_run, run_id, self.service.runs.runs_dir)
        playbook = str(shown.get("playbook") or "")
        if not caller.may_run(playbook):
            raise Forbidden(f"This API key may not see runs of the {playbook} playbook.")
        return json_response(shown)

    async def decide(self, request: Request, caller: Caller) -> Response:
        step = self._step(request)
        if not caller.scope.approve:
            raise Forbidden("This API key may not decide approvals.")
        run_id = self._run_id(request)
        await self._refuse_other_playbooks(caller, run_id, "decide approvals in")
        body = await self._json_body(request, "approval")
        approved, by, reason = decision(body)
        decide = functools.partial(
            session.approve,
            run_id,
            step,
            # The journal records the person and the key that carried the decision.
            by=f"{by} (API key {caller.id})",
            approved=approved,
            reason=reason,
            runs_dir_path=self.service.runs.runs_dir,
        )
        # Checked and appended under the run's journal lock: of two at once, the second
        # finds the first (the same decision: 200 with it; another: 409 naming it).
        event = await anyio.to_thread.run_sync(decide)
        if not event.get("already_recorded"):
            self.service.runs.resume(run_id)
        return json_response(event)

    async def mark_done(self, request: Request, caller: Caller) -> Response:
        step = self._step(request)
        if not caller.scope.approve:
            raise Forbidden("This API key may not settle steps in doubt.")
        run_id = self._run_id(request)
        await self._refuse_other_playbooks(caller, run_id, "settle steps in")
        body = await self._json_body(request, "mark-done")
        by, reason = mark_request(body)
        mark = functools.partial(
            session.mark_done,
            run_id,
            step,
            by=f"{by} (API key {caller.id})",
            reason=reason,
            pack=self.pack,
            runs_dir_path=self.service.runs.runs_dir,
        )
        # Under the run's drive lock: a run being driven answers 409 with the driver's pid.
        event = await anyio.to_thread.run_sync(mark)
        self.service.runs.resume(run_id)
        return json_response(event)

    async def _refuse_other_playbooks(self, caller: Caller, run_id: str, what: str) -> None:
        """Forbidden unless the key's `playbooks` patterns match the run's playbook: an
        approver key is one team's, not every run's."""
        root = self.service.runs.runs_dir
        playbook = await anyio.to_thread.run_sync(playbook_of_run, root, run_id)
        if not caller.may_run(playbook):
            raise Forbidden(f"This API key may not {what} runs of the {playbook} playbook.")

    def _step(self, request: Request) -> str:
        """The step from the path: ids joined by `/` (a sub-playbook's), none empty, so a
        trailing slash is our 404 like anywhere else, never a redirect or another step."""
        step = str(request.path_params["step"])
        note(request.scope, step=shortened(step))
        if "" in step.split("/"):
            raise NotFound("No such endpoint; GET /openapi.json lists them.")
        return step

    def _run_id(self, request: Request) -> str:
        run_id = str(request.path_params["run_id"])
        note(request.scope, run_id=run_id)
        if not run_exists(self.service.runs.runs_dir, run_id):
            raise NotFound(f"No run {shortened(repr(run_id))}.")
        return run_id
