"""The one invocation path, shared by the CLI, the Python API and (later) the runner.

    validate inputs (defaults applied)  ->  InputError, nothing sent
    build / reuse the connection client ->  ConfigError
    run the handler or the declared HTTP request
    check the result against the output schema -> MalformedResponseError
    return ActionResult(data, duration, HTTP calls made)

Inputs are validated before the connection is even resolved, so bad input never
needs settings and never reaches the network.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from soarpack import errors
from soarpack.config import Config
from soarpack.declarative import run_declared
from soarpack.http.client import CallRecord, ConnectionClient, Reply
from soarpack.manifest import ActionSpec
from soarpack.pack import Pack
from soarpack.redact import redact_data


@dataclass
class ActionResult:
    """What an invocation produced, with enough metadata to audit it."""

    action: str
    data: Any
    duration_ms: float
    calls: list[CallRecord] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Redacted plain data, for JSON output and journals."""
        out: dict[str, Any] = redact_data(
            {
                "action": self.action,
                "ok": True,
                "data": self.data,
                "meta": {
                    "duration_ms": self.duration_ms,
                    "http_calls": [c.to_dict() for c in self.calls],
                },
            }
        )
        return out


class Session:
    """What a handler receives: the connection's client, bound to one invocation.

    It knows the action (for retry safety and its declared request) and records the
    HTTP calls made. Handlers keep no state of their own between calls.
    """

    def __init__(self, client: ConnectionClient, action: ActionSpec, pack: Pack) -> None:
        self.client = client
        self.action = action
        self.pack = pack
        self.calls: list[CallRecord] = []

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
    ) -> Reply:
        """One request on the action's connection. `side_effect` may only narrow the
        action's own (a write action's pure read may be retried like one)."""
        return self.client.request(
            method,
            path,
            side_effect=side_effect or self.action.side_effect,
            calls=self.calls,
            params=params,
            json_body=json_body,
            headers=headers,
            rate_limit=self.action.rate_limit,
            raw=raw,
        )

    def sleep(self, seconds: float) -> None:
        """The engine's sleep (injected in tests), for handlers that poll."""
        self.client.sleep(seconds)

    def call_declared(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Run the action's declared `http` request (with paging) and shape its output."""
        if self.action.http is None:
            raise errors.PackError(
                [(self.action.name, "call_declared used but the action declares no http")]
            )
        return run_declared(self, self.action.http, inputs)

    def schema(self, relpath: str) -> dict[str, Any]:
        """A schema file of the pack (vendor enums, code mappings), read-only."""
        return self.pack.schemas.files[relpath]


class Engine:
    """Invokes actions of one pack with one configuration. Reuse it: clients are cached."""

    def __init__(
        self,
        pack: Pack | None = None,
        config: Config | None = None,
        *,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.pack = pack or Pack.load()
        self.config = config or Config()
        self._transports = dict(transports or {})
        self._sleep = sleep
        self._clients: dict[str, ConnectionClient] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def validate_inputs(
        self, action: str | ActionSpec, inputs: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Inputs with defaults applied, or InputError naming every failing field."""
        spec = self.pack.action(action) if isinstance(action, str) else action
        if inputs is None:
            inputs = {}
        if not isinstance(inputs, Mapping):
            raise errors.InputError(
                spec.name, [errors.FieldError("", "type", "inputs must be a JSON object")]
            )
        store = self.pack.schemas
        filled = store.apply_defaults(spec.input, dict(inputs))
        problems = store.errors(spec.input, filled, strict=True)
        if problems:
            raise errors.InputError(spec.name, problems)
        return filled

    def client(self, connection: str) -> ConnectionClient:
        """The connection's shared client, built on first use from the configuration."""
        with self._lock:
            found = self._clients.get(connection)
            if found is None:
                spec = self.pack.connection(connection)
                settings = self.config.settings(spec, self.pack.schemas)
                found = ConnectionClient(
                    spec, settings, transport=self._transports.get(connection), sleep=self._sleep
                )
                self._clients[connection] = found
            return found

    def invoke(self, action: str, inputs: Mapping[str, Any] | None = None) -> ActionResult:
        started = time.perf_counter()
        spec = self.pack.action(action)
        filled = self.validate_inputs(spec, inputs)
        session = Session(self.client(spec.connection), spec, self.pack)
        handler = self.pack.handler(spec)
        if spec.http is not None:
            data: Any = session.call_declared(filled)
            if handler is not None:
                data = handler(session, filled, data)
        elif handler is not None:
            data = handler(session, filled)
        else:  # the manifest schema requires one of the two
            raise errors.PackError([(spec.name, "declares neither http nor handler")])
        self._check_output(spec, data, session.calls)
        elapsed = round((time.perf_counter() - started) * 1000, 2)
        return ActionResult(spec.name, data, elapsed, session.calls)

    def _check_output(self, spec: ActionSpec, data: Any, calls: list[CallRecord]) -> None:
        problems = self.pack.schemas.errors(spec.output, data)
        if not problems:
            return
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        last = calls[-1] if calls else None
        raise errors.MalformedResponseError(
            f"The answer to {spec.name} does not have the documented shape: {shown}{more}.",
            hint="The vendor API may have changed; run with --debug and report it.",
            method=last.method if last else None,
            url=last.url if last else None,
            status=last.status if last else None,
        )


def invoke(
    action: str, inputs: Mapping[str, Any] | None = None, **engine_args: Any
) -> ActionResult:
    """Invoke one action with a throw-away Engine (see Engine for the arguments)."""
    with Engine(**engine_args) as engine:
        return engine.invoke(action, inputs)
