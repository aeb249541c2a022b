"""The one invocation path, shared by the CLI, the Python API and (later) the runner.

    validate inputs (defaults applied)  ->  InputError, nothing sent
    build / reuse the connection client ->  ConfigError
    run the handler, the declared HTTP request, or the connection's probe
    (handlers get a Session: soarpack/session.py)
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

from soarpack import annotated, errors, jsondata, probe
from soarpack.bindings import bind
from soarpack.config import Config, state_dir
from soarpack.http import errormap
from soarpack.http.client import ConnectionClient
from soarpack.http.invocation import CallRecord, DryRunHalt
from soarpack.http.ratelimit import WindowStore
from soarpack.http.ratelimit_file import FileWindows
from soarpack.manifest import ActionSpec, HttpSpec
from soarpack.pack import Pack
from soarpack.redact import redact_data
from soarpack.schemas import SECRET_KEY
from soarpack.session import Session

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


class Engine:
    """Invokes actions of one pack with one configuration. Reuse it: clients are cached.

    `windows` is where the manifest's rate limits are counted: by default a file per
    window in the state dir, so every process on this machine calling one account
    shares its budget (Celery workers pass the broker's Redis instead).
    """

    def __init__(
        self,
        pack: Pack | None = None,
        config: Config | None = None,
        *,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        windows: WindowStore | None = None,
    ) -> None:
        self.pack = pack or Pack.load()
        self.config = config or Config()
        self._transports = dict(transports or {})
        self._sleep = sleep
        self.windows = windows or FileWindows(state_dir(None) / "ratelimit")
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
                    spec,
                    settings,
                    transport=self._transports.get(connection),
                    sleep=self._sleep,
                    windows=self.windows,
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
        session = self.session(spec, calls, deadline=deadline, dry_run=dry_run)
        filled = self._with_connection_defaults(spec, filled, session.client)
        handler = self.pack.handler(spec)
        probed = probe.probe_of(self.pack.connection(spec.connection), spec)
        if probed is not None:
            data: Any = probe.run(session, probed)
        elif spec.http is not None and not spec.http.sent_by_handler:
            data = session.call_declared(filled)
            if handler is not None:
                data = handler(session, filled, data)
        elif handler is not None:
            data = handler(session, filled)
        else:  # soarpack validate refuses this (soarpack.checks)
            raise errors.PackError([(spec.name, "declares neither http nor handler")])
        if self._annotated(spec, "output", SECRET_KEY):
            annotated.register_secrets(self.pack.schemas, spec.output, data)
        names = self._names_plan(spec)
        if names is not None:
            data = names.apply(data)
        self._check_output(spec, data, session.calls)
        return data

    def session(
        self,
        action: str | ActionSpec,
        calls: list[CallRecord] | None = None,
        *,
        deadline: float | None = None,
        dry_run: bool = False,
    ) -> Session:
        """A session of the action on its connection's client, recording HTTP calls in
        `calls`: what a handler receives, and what a command sends through outside an
        invocation (`soarpack ingest` sends the ingest action's pages)."""
        spec = self.pack.action(action) if isinstance(action, str) else action
        return Session(
            self.client(spec.connection),
            spec,
            self.pack,
            self.bound_http(spec),
            engine=self,
            calls=calls,
            deadline=deadline,
            dry_run=dry_run,
        )

    def bound_http(self, spec: ActionSpec) -> HttpSpec | None:
        """The action's declared request, with the method and path the config binds it to
        (soarpack.bindings), found once."""
        if spec.name not in self._bound:
            self._bound[spec.name] = bind(spec, self.config)
        return self._bound[spec.name]

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
