"""What a handler receives: the connection's client, bound to one invocation of an action.

Every request a handler sends goes through it, and is an action's declared request
(manifest.yaml): `call_declared` and `send_declared` for the action's own, `call_action`
and `send_action` for another action of the same connection. `request` is for the
engine-side vendor protocols (soarpack/<vendor>/) whose paths are not one declaration.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from soarpack import errors
from soarpack.declarative import run_declared, send_declared
from soarpack.http.client import ConnectionClient
from soarpack.http.invocation import CallRecord
from soarpack.http.request import Reply
from soarpack.manifest import ActionSpec, HttpSpec
from soarpack.pack import Pack


class Invoker(Protocol):
    """What a session needs of the engine to run another action (written here, not
    imported: the engine imports this module)."""

    @property
    def pack(self) -> Pack: ...

    def run(
        self,
        spec: ActionSpec,
        inputs: Mapping[str, Any] | None,
        calls: list[CallRecord],
        *,
        deadline: float | None = None,
        dry_run: bool = False,
    ) -> Any: ...

    def session(
        self,
        action: str | ActionSpec,
        calls: list[CallRecord] | None = None,
        *,
        deadline: float | None = None,
        dry_run: bool = False,
    ) -> Session: ...


class Session:
    """What a handler receives: the connection's client, bound to one invocation.

    It knows the action (for retry safety and its declared request) and records the
    HTTP calls made. Handlers keep no state of their own between calls.

    With a `deadline` or `dry_run`, `client` is a view of the connection's client that
    applies them to every request, so a handler that sends through `session.client`
    directly is bound by them too.
    """

    def __init__(
        self,
        client: ConnectionClient,
        action: ActionSpec,
        pack: Pack,
        http: HttpSpec | None = None,
        *,
        engine: Invoker | None = None,
        calls: list[CallRecord] | None = None,
        deadline: float | None = None,
        dry_run: bool = False,
    ) -> None:
        self.deadline = deadline
        self.dry_run = dry_run
        bound = deadline is not None or dry_run
        self.client = client.for_invocation(deadline=deadline, dry_run=dry_run) if bound else client
        self.action = action
        self.pack = pack
        # The declared request, with the method and path a configured binding gives it.
        self.http = http or action.http
        self.calls: list[CallRecord] = [] if calls is None else calls
        self._engine = engine

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
        side_effect: str | None = None,
        calls: list[CallRecord] | None = None,
    ) -> Reply:
        """One request on the action's connection. `side_effect` may only narrow the
        action's own (a write action's pure read may be retried like one, and runs in a
        dry run). In a dry run, a request that is not a read raises DryRunHalt unsent.
        `calls`: where to record it instead of the invocation's list (the ingest keeps
        one per stream)."""
        return self.client.request(
            method,
            path,
            side_effect=side_effect or self.action.side_effect,
            calls=self.calls if calls is None else calls,
            params=params,
            json_body=json_body,
            headers=headers,
            rate_limit=self.action.rate_limit,
            raw=raw,
        )

    def sleep(self, seconds: float) -> None:
        """The engine's sleep (injected in tests), for handlers that poll. Never past the
        invocation's deadline: the request after a cut-short wait fails with RequestTimeout."""
        if self.deadline is not None:
            seconds = min(seconds, self.deadline - time.monotonic())
            if seconds <= 0:
                return
        self.client.sleep(seconds)

    def call_declared(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Run the action's declared `http` request (with paging) and shape its output."""
        if self.http is None:
            raise errors.PackError(
                [(self.action.name, "call_declared used but the action declares no http")]
            )
        return run_declared(self, self.http, inputs)

    def send_declared(
        self, inputs: Mapping[str, Any], *, raw: bool = False, side_effect: str | None = None
    ) -> Reply:
        """Send the declared request once with these inputs and return the answer as is:
        for handlers that send it themselves (`paging: page_number`, `handler_sends`).
        `raw` and `side_effect` as for `request`."""
        if self.http is None:
            raise errors.PackError(
                [(self.action.name, "send_declared used but the action declares no http")]
            )
        return send_declared(self, self.http, inputs, raw=raw, side_effect=side_effect)

    def call_action(self, name: str, inputs: Mapping[str, Any]) -> Any:
        """Run another action of the same connection as part of this one (response actions
        built on raw operations): its inputs are validated, its own side effect governs
        retries and the dry run, its HTTP calls are recorded with this invocation's, and
        this invocation's deadline bounds it."""
        engine, spec = self._sibling(name)
        return engine.run(spec, inputs, self.calls, deadline=self.deadline, dry_run=self.dry_run)

    def send_action(self, name: str, inputs: Mapping[str, Any]) -> Reply:
        """Send another action's declared request once with exactly `inputs` (no defaults,
        paging or answer check) as that action, bound like this invocation: the shared
        connection probe's one read (soarpack.probe)."""
        engine, spec = self._sibling(name)
        sibling = engine.session(spec, self.calls, deadline=self.deadline, dry_run=self.dry_run)
        return sibling.send_declared(inputs)

    def _sibling(self, name: str) -> tuple[Invoker, ActionSpec]:
        if self._engine is None:
            raise errors.PackError([(self.action.name, "call_action needs an engine")])
        spec = self._engine.pack.action(name)
        if spec.connection != self.action.connection:
            raise errors.PackError([(self.action.name, f"{name} is on another connection")])
        return self._engine, spec

    def schema(self, relpath: str) -> dict[str, Any]:
        """A schema file of the pack (vendor enums, code mappings), read-only."""
        return self.pack.schemas.files[relpath]
