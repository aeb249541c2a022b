"""The one invocation path, shared by the CLI, the Python API and (later) the runner.

    validate inputs (defaults applied)  ->  InputError, nothing sent
    build / reuse the connection client ->  ConfigError
    run the handler or the declared HTTP request
    check the result against the output schema -> MalformedResponseError
    return ActionResult(data, duration, HTTP calls made)

Inputs are validated before the connection is even resolved, so bad input never
needs settings and never reaches the network.

Two per-invocation options serve the playbook runner. `deadline` (a time.monotonic()
value) bounds every HTTP call and handler wait of the invocation. `dry_run` lets reads
run for real and stops at the first request that would change something: that request
is described (no credential, redacted) and returned as the result instead of being sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import msgspec

from soarpack import annotated, errors, jsondata
from soarpack.config import Config
from soarpack.declarative import run_declared, send_declared
from soarpack.http import errormap
from soarpack.http.client import ConnectionClient
from soarpack.http.invocation import CallRecord, DryRunHalt
from soarpack.http.request import Reply
from soarpack.manifest import ActionSpec, HttpSpec
from soarpack.pack import Pack
from soarpack.redact import redact_data
from soarpack.schemas import SECRET_KEY

# `with CeleryEngine(...) as engine` keeps the subclass's type.
_EngineT = TypeVar("_EngineT", bound="Engine")


@dataclass
class ActionResult:
    """What an invocation produced, with enough metadata to audit it."""

    action: str
    data: Any
    duration_ms: float
    calls: list[CallRecord] = field(default_factory=list)
    # True when a dry run held a request back: `data` is {"dry_run": true, "request": ...}.
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Redacted plain data, for JSON output and journals."""
        out: dict[str, Any] = redact_data(
            {
                "action": self.action,
                "ok": True,
                "dry_run": self.dry_run,
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
        engine: Engine | None = None,
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
    ) -> Reply:
        """One request on the action's connection. `side_effect` may only narrow the
        action's own (a write action's pure read may be retried like one, and runs in a
        dry run). In a dry run, a request that is not a read raises DryRunHalt unsent."""
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

    def send_declared(self, inputs: Mapping[str, Any]) -> Reply:
        """Send the declared request once with these inputs and return the answer as is:
        for handlers that page by the vendor's own rule (`paging: page_number`)."""
        if self.http is None:
            raise errors.PackError(
                [(self.action.name, "send_declared used but the action declares no http")]
            )
        return send_declared(self, self.http, inputs)

    def call_action(self, name: str, inputs: Mapping[str, Any]) -> Any:
        """Run another action of the same connection as part of this one (response actions
        built on raw operations): its inputs are validated, its own side effect governs
        retries and the dry run, its HTTP calls are recorded with this invocation's, and
        this invocation's deadline bounds it."""
        if self._engine is None:
            raise errors.PackError([(self.action.name, "call_action needs an engine")])
        spec = self._engine.pack.action(name)
        if spec.connection != self.action.connection:
            raise errors.PackError([(self.action.name, f"{name} is on another connection")])
        return self._engine.run(
            spec, inputs, self.calls, deadline=self.deadline, dry_run=self.dry_run
        )

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
        self._annotations: dict[tuple[str, str, str], bool] = {}
        self._name_plans: dict[str, annotated.NamesPlan | None] = {}
        self._bound: dict[str, HttpSpec | None] = {}
        self._lock = threading.Lock()

    def sleep(self, seconds: float) -> None:
        """The engine's sleep (injected in tests); the playbook runner waits with it too."""
        self._sleep(seconds)

    def __enter__(self: _EngineT) -> _EngineT:
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
        # Before the schema check, which recurses once per level of nesting.
        unsafe = jsondata.problems(inputs)
        if unsafe:
            raise errors.InputError(spec.name, unsafe)
        store = self.pack.schemas
        filled = store.apply_defaults(spec.input, dict(inputs))
        problems = store.errors(spec.input, filled, strict=True)
        if problems:
            raise errors.InputError(spec.name, problems)
        if self._annotated(spec, "input", annotated.NAMES_KEY):
            filled = annotated.to_numbers(store, spec.input, filled)
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

    def invoke(
        self,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        deadline: float | None = None,
        dry_run: bool = False,
        approval: Mapping[str, Any] | None = None,
    ) -> ActionResult:
        """Run one action. `deadline`: a time.monotonic() value bounding its HTTP calls and
        waits. `dry_run`: reads run, the first other request is returned unsent as
        data {"dry_run": true, "request": {method, url, body}} with `dry_run` set (an action
        that would send nothing but reads returns its real result). `approval`: what allowed
        a destructive call (soarpack/workers/signing.py GRANTS); this process's caller
        already checked it, so it is unused here, but a Celery worker refuses a destructive
        task without it."""
        started = time.perf_counter()
        spec = self.pack.action(action)
        calls: list[CallRecord] = []
        try:
            data = self.run(spec, inputs, calls, deadline=deadline, dry_run=dry_run)
        except DryRunHalt as halt:
            # Nothing of the write was sent, so there is no answer to check against the
            # output schema: the planned request is the result.
            planned = {"dry_run": True, "request": halt.planned}
            return ActionResult(spec.name, planned, _elapsed_ms(started), calls, dry_run=True)
        return ActionResult(spec.name, data, _elapsed_ms(started), calls)

    def run(
        self,
        spec: ActionSpec,
        inputs: Mapping[str, Any] | None,
        calls: list[CallRecord],
        *,
        deadline: float | None = None,
        dry_run: bool = False,
    ) -> Any:
        """Validate, call and check one action, recording its HTTP calls in `calls`.
        In a dry run, the first request that is not a read raises DryRunHalt."""
        filled = self.validate_inputs(spec, inputs)
        client = self.client(spec.connection)
        filled = self._with_connection_defaults(spec, filled, client)
        session = Session(
            client,
            spec,
            self.pack,
            self.bound_http(spec),
            engine=self,
            calls=calls,
            deadline=deadline,
            dry_run=dry_run,
        )
        handler = self.pack.handler(spec)
        if spec.http is not None and not spec.http.sent_by_handler:
            data: Any = session.call_declared(filled)
            if handler is not None:
                data = handler(session, filled, data)
        elif handler is not None:
            data = handler(session, filled)
        else:  # the manifest schema requires one of the two
            raise errors.PackError([(spec.name, "declares neither http nor handler")])
        if self._annotated(spec, "output", SECRET_KEY):
            annotated.register_secrets(self.pack.schemas, spec.output, data)
        names = self._names_plan(spec)
        if names is not None:
            data = names.apply(data)
        self._check_output(spec, data, session.calls)
        return data

    def bound_http(self, spec: ActionSpec) -> HttpSpec | None:
        """The action's declared request, with the method and path the config binds it to.

        Generated actions whose paths are assumed are bound to the vendor's real ones by
        `soarpack lacework-edge bind-spec`, which writes the config's `bindings` section.
        """
        if spec.name not in self._bound:
            self._bound[spec.name] = self._bind(spec)
        return self._bound[spec.name]

    def _bind(self, spec: ActionSpec) -> HttpSpec | None:
        if spec.http is None:
            return None
        bound = self.config.section("bindings").get(spec.name)
        if not bound:
            return spec.http
        if not isinstance(bound, dict) or not {"method", "path"} <= set(bound):
            raise errors.ConfigError(
                f"bindings.{spec.name} in {self.config.path} needs `method` and `path`."
            )
        rebound = msgspec.structs.replace(
            spec.http, method=str(bound["method"]).upper(), path=str(bound["path"])
        )
        unknown = set(rebound.path_params) - set(spec.http.input_names())
        if unknown or rebound.method not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            raise errors.ConfigError(
                f"bindings.{spec.name} in {self.config.path} is not usable: "
                + (
                    f"path parameters {sorted(unknown)} are not inputs" if unknown else "bad method"
                ),
                hint="Run `soarpack lacework-edge bind-spec` again with the vendor's OpenAPI file.",
            )
        return rebound

    def _annotated(self, spec: ActionSpec, which: str, annotation: str) -> bool:
        """Whether the action's input or output schema uses `annotation` (cached)."""
        key = (spec.name, which, annotation)
        found = self._annotations.get(key)
        if found is None:
            schema = spec.input if which == "input" else spec.output
            found = annotated.uses(self.pack.schemas, schema, annotation)
            self._annotations[key] = found
        return found

    def _names_plan(self, spec: ActionSpec) -> annotated.NamesPlan | None:
        """Where the action's output gets enum names (None: nowhere), found once."""
        if spec.name not in self._name_plans:
            self._name_plans[spec.name] = annotated.names_plan(self.pack.schemas, spec.output)
        return self._name_plans[spec.name]

    def _with_connection_defaults(
        self, spec: ActionSpec, inputs: dict[str, Any], client: ConnectionClient
    ) -> dict[str, Any]:
        """Fill inputs the connection supplies (e.g. the account name) when left out."""
        defaults = client.spec.input_defaults
        if not defaults:
            return inputs
        accepted = self.pack.schemas.properties(spec.input)
        out = dict(inputs)
        for name, setting in defaults.items():
            if name in accepted and name not in out and client.settings.get(setting) is not None:
                out[name] = client.settings.get(setting)
        return out

    def _check_output(self, spec: ActionSpec, data: Any, calls: list[CallRecord]) -> None:
        problems = self.pack.schemas.errors(spec.output, data)
        if not problems:
            return
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        last = calls[-1] if calls else None
        raise errormap.FAILURES["wrong_shape"].build(
            f"The answer to {spec.name} does not have the documented shape: {shown}{more}.",
            method=last.method if last else None,
            url=last.url if last else None,
            status=last.status if last else None,
        )


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def invoke(
    action: str, inputs: Mapping[str, Any] | None = None, **engine_args: Any
) -> ActionResult:
    """Invoke one action with a throw-away Engine (see Engine for the arguments)."""
    with Engine(**engine_args) as engine:
        return engine.invoke(action, inputs)
