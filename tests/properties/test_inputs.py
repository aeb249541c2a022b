"""Every action, inputs generated from its input schema, against the in-process sandbox.

- Valid inputs reach the transport, and for declared requests with the declared method
  and path, each required input where the manifest places it.
- Invalid inputs raise InputError naming the broken field, before any request.
- Whatever the outcome, nothing but a SoarpackError subclass is raised.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

from soarpack import errors
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.manifest import ActionSpec, HttpSpec
from soarpack.pack import Pack
from soarpack.sandbox import (
    InProcessTransport,
    SandboxState,
    create_lacework_edge_app,
    create_metaaccess_app,
    create_netskope_app,
)
from tests.conftest import CANARY, REPO, settings_env
from tests.properties import CASES, FULL
from tests.properties.schema_strategies import inline, invalid, local_path_inputs, values

PACK = Pack.load(REPO)
ACTIONS = sorted(PACK.actions)
APPS = {
    "netskope": create_netskope_app,
    "netskope_v2": create_netskope_app,
    "metaaccess": create_metaaccess_app,
    "lacework_edge": create_lacework_edge_app,
}
# Per action and kind: 118 actions x 2 x 50 = 11,800 drawn in the full run.
EXAMPLES = 50 if FULL else 3
# An invocation that polls or pages runs out of time here rather than for minutes.
INVOCATION_SECONDS = 2.0
# Token exchanges are the connection's, not the action's request.
EXCHANGE_PATHS = ("/api/v1/token_login", "/o/oauth/token")


class Recorder(httpx.BaseTransport):
    """Passes requests to the sandbox and keeps them, to check what reached the wire."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()

    def action_requests(self, spec: ActionSpec) -> list[httpx.Request]:
        own = spec.http.path if spec.http else ""
        return [
            r
            for r in self.requests
            if own.endswith(EXCHANGE_PATHS) or not r.url.path.endswith(EXCHANGE_PATHS)
        ]


@pytest.fixture(scope="module")
def state() -> SandboxState:
    found = SandboxState(token=CANARY, v2_rate_limit=False)
    found.metaaccess.rate_limit = False
    return found


def _engine(spec: ActionSpec, state: SandboxState) -> tuple[Engine, Recorder]:
    recorder = Recorder(InProcessTransport(APPS[spec.connection](state)))
    engine = Engine(
        PACK,
        Config(env=settings_env(spec.connection, max_attempts=1)),
        transports={spec.connection: recorder},
        sleep=lambda _seconds: None,
    )
    return engine, recorder


def _settings() -> Any:
    return settings(
        max_examples=EXAMPLES,
        derandomize=not FULL,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


def _with_local_paths(inputs: dict[str, Any], names: set[str], tmp: Path, keep: str = "") -> None:
    """Inputs naming files on disk point into the test's temporary folder."""
    for name in names - {keep}:
        if name in inputs:
            inputs[name] = str(tmp / name)


@pytest.mark.parametrize("name", ACTIONS)
def test_valid_inputs_reach_the_transport(
    name: str, state: SandboxState, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # actions that write files write here
    spec = PACK.actions[name]
    schema = inline(PACK.schemas, spec.input)
    paths = local_path_inputs(schema)
    engine, recorder = _engine(spec, state)

    examples = iter(range(1_000_000))

    @_settings()
    @given(values(schema))
    def check(inputs: dict[str, Any]) -> None:
        # Every local path, given or not, in a folder of this example's own: state left
        # by an earlier example (an ingest checkpoint for another index) would refuse it.
        fresh = tmp_path / f"example-{next(examples)}"
        inputs.update({name: str(fresh / name) for name in paths})
        if PACK.schemas.errors(
            spec.input, PACK.schemas.apply_defaults(spec.input, inputs), strict=True
        ):
            _check_refused(engine, recorder, spec, inputs, None)
            return
        CASES["valid"] += 1
        recorder.requests.clear()
        try:
            engine.invoke(name, inputs, deadline=time.monotonic() + INVOCATION_SECONDS)
        except errors.InputError as exc:
            # A rule across inputs that the schema cannot say (checked by the handler):
            # still refused as input, still before anything was sent.
            assert recorder.requests == [], f"{name}: refused after sending: {exc}"
            assert exc.errors
            return
        except errors.SoarpackError:
            pass  # the sandbox may answer 404 for a generated id: any error of ours is fine
        sent = recorder.action_requests(spec)
        assert sent, f"{name}: valid inputs sent nothing"
        http = engine.bound_http(spec)
        if http is not None:
            _check_declared_shape(http, engine.validate_inputs(spec, inputs), sent)

    try:
        check()
    finally:
        engine.close()


@pytest.mark.parametrize("name", ACTIONS)
def test_invalid_inputs_are_refused_before_sending(
    name: str, state: SandboxState, tmp_path: Path
) -> None:
    spec = PACK.actions[name]
    schema = inline(PACK.schemas, spec.input)
    paths = local_path_inputs(schema)
    engine, recorder = _engine(spec, state)

    @_settings()
    @given(invalid(schema))
    def check(case: tuple[dict[str, Any], str]) -> None:
        inputs, field = case
        _with_local_paths(inputs, paths, tmp_path, keep=field)
        filled = PACK.schemas.apply_defaults(spec.input, inputs)
        if not PACK.schemas.errors(spec.input, filled, strict=True):
            return  # the break happened to be allowed (e.g. a type the field also takes)
        _check_refused(engine, recorder, spec, inputs, field)

    try:
        check()
    finally:
        engine.close()


def _check_refused(
    engine: Engine, recorder: Recorder, spec: ActionSpec, inputs: Any, field: str | None
) -> None:
    CASES["invalid"] += 1
    recorder.requests.clear()
    with pytest.raises(errors.InputError) as caught:
        engine.invoke(spec.name, inputs)
    assert recorder.requests == [], f"{spec.name}: invalid inputs reached the transport"
    assert caught.value.errors, "an InputError names at least one field"
    if field is not None:
        named = [e.pointer for e in caught.value.errors]
        assert any(
            p == f"/{_escape(field)}" or p.startswith(f"/{_escape(field)}/") for p in named
        ) or any(field in e.message for e in caught.value.errors), (field, named)
    json.dumps(caught.value.to_dict())  # renders at the boundaries without failing


def _escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _check_declared_shape(
    http: HttpSpec, inputs: dict[str, Any], sent: list[httpx.Request]
) -> None:
    """The declared request went out: method, path (inputs in their segments), and every
    input the manifest places in the query or body, where it placed it."""
    pattern = re.sub(r"\\\{[A-Za-z_][A-Za-z0-9_]*\\\}", "[^/]+", re.escape(http.path))
    # The raw path: a generated "/" in an id is sent as %2F, inside one segment as declared.
    shown = [f"{r.method} {r.url.raw_path.decode().split('?')[0]}" for r in sent]
    matching = [
        r
        for r, line in zip(sent, shown, strict=True)
        if r.method == http.method and re.search(pattern + "$", line)
    ]
    assert matching, f"no {http.method} {http.path} in {shown}"
    first = matching[0]
    for name in http.path_params:
        assert str(inputs[name]) == "" or _segment_present(first, str(inputs[name]))
    for name in http.query:
        if inputs.get(name) is not None and name not in _paging_inputs(http):
            assert name in first.url.params, f"query input {name} not sent"
    if http.body and first.content:
        body = json.loads(first.content)
        for name in http.body:
            if inputs.get(name) is not None and name not in _paging_inputs(http):
                assert name in body, f"body input {name} not sent"


def _segment_present(request: httpx.Request, value: str) -> bool:
    return value in unquote(request.url.raw_path.decode("ascii").split("?", 1)[0])


def _paging_inputs(http: HttpSpec) -> set[str]:
    """Inputs the declared paging rewrites page by page (sent, but with other values)."""
    names: set[str] = set()
    if http.query_clauses:
        names |= set(http.query_clauses.fields) | {http.query_clauses.into}
    if http.paging == "limit_skip":
        names |= {"limit", "skip", "all_pages", "max_records"}
    return names


def test_ingest_index_with_many_streams_is_an_input_error(
    state: SandboxState, tmp_path: Path
) -> None:
    # Found by the generator: this rule across inputs came back as ConfigError.
    spec = PACK.actions["netskope.dataexport.ingest"]
    engine, recorder = _engine(spec, state)
    with engine, pytest.raises(errors.InputError) as caught:
        engine.invoke(
            spec.name,
            {"streams": ["alerts/dlp", "events/page"], "index": "x", "output_dir": str(tmp_path)},
        )
    assert caught.value.fields == ["/index"] and recorder.requests == []


def test_dot_segments_in_path_inputs_are_refused(state: SandboxState) -> None:
    # Found by the generator: URL rules drop dot segments, so an id of ".." made
    # POST /api/v1/documents/../revoke_sharing a POST to /api/v1/revoke_sharing.
    spec = PACK.actions["lacework_edge.documents.revoke_sharing"]
    engine, recorder = _engine(spec, state)
    with engine:
        for bad in (".", ".."):
            with pytest.raises(errors.InputError) as caught:
                engine.invoke(spec.name, {"uuid": bad})
            assert caught.value.fields == ["/uuid"]
    assert recorder.action_requests(spec) == []
