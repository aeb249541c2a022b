"""The server's endpoint handlers: actions (list, describe, invoke) and playbook runs
(start, show, decide an approval, mark a step done). Blocking work (the engine, the
journal, decoding a body) runs in a worker thread; errors are raised, and app.py's
route wrapper renders them.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from soarpack import docs
from soarpack.errors import shortened
from soarpack.playbook import session
from soarpack.playbook.history import show_run
from soarpack.playbook.validate import load_playbook
from soarpack.server.accesslog import note
from soarpack.server.auth import Caller
from soarpack.server.bodies import decision, json_object, mark_request, run_request
from soarpack.server.errors import Forbidden, NotFound, json_response
from soarpack.server.limits import read_body
from soarpack.server.openapi_scope import for_caller
from soarpack.server.runs import actions_used, playbook_of_run, playbook_path, run_exists
from soarpack.server.service import Service

Handler = Callable[[Request, Caller], Awaitable[Response]]


class Endpoints:
    """The routes' handlers. Each but healthz gets the request and its authenticated
    caller (app.py has checked the key, read the body and taken a slot)."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.pack = service.pack

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
        # Only what this key may use, as GET /actions lists only what it may call.
        def scoped() -> dict[str, Any]:
            return for_caller(self.service.openapi(), self.pack, caller)

        return json_response(await anyio.to_thread.run_sync(scoped))

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
