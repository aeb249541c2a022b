"""Conformance: every action declared in the manifest, checked the same way.

A new action gets these checks for free: its schemas are valid, its examples
validate, each example runs against the sandbox and passes the output check, an
unknown input is refused with nothing sent, and 401 / 429 / 500 / malformed answers
become the right errors. Vendor-specific behaviour has its own test modules.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from jsonschema import Draft202012Validator

from soarpack import errors
from soarpack.http import errormap
from soarpack.pack import Pack
from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app
from tests.conftest import CANARY, REPO, EngineFactory, Sleeps, transport_for

PACK = Pack.load(REPO)
ACTIONS = sorted(PACK.actions)
EXAMPLES = [
    pytest.param(name, index, example, id=f"{name}[{index}]")
    for name in ACTIONS
    for index, example in enumerate(PACK.actions[name].examples)
]
SANDBOX_APPS = {"netskope": create_netskope_app, "netskope_v2": create_netskope_app}
# Actions that retry by their own protocol on top of the client's (the ingest resends
# after uncertain failures); tests/ingest covers how.
OWN_RETRY_POLICY = {"netskope.dataexport.ingest"}


@pytest.fixture(scope="module")
def sandbox_state() -> SandboxState:
    # Each test builds a fresh client (and client-side limiter) against one tenant: the
    # tenant's limiter would see bursts no single client makes. Its own tests cover it.
    return SandboxState(token=CANARY, v2_rate_limit=False)


@pytest.fixture
def sandbox_transport(sandbox_state: SandboxState) -> Iterator[httpx.BaseTransport]:
    transport = InProcessTransport(create_netskope_app(sandbox_state))
    yield transport
    transport.close()


@pytest.mark.parametrize("name", ACTIONS)
def test_schemas_are_valid_json_schema(name: str) -> None:
    action = PACK.actions[name]
    Draft202012Validator.check_schema(action.input)
    Draft202012Validator.check_schema(action.output)
    assert action.input.get("type") == "object" and action.output.get("type") == "object"


@pytest.mark.parametrize(("name", "index", "example"), EXAMPLES)
def test_example_runs_on_the_sandbox(
    name: str,
    index: int,
    example: dict[str, Any],
    make_engine: EngineFactory,
    sandbox_transport: httpx.BaseTransport,
    sandbox_state: SandboxState,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # actions that write files (ingest) write here
    action = PACK.actions[name]
    if name.startswith("netskope.client_status."):
        _client_status_precondition(sandbox_state, name, example["index"])
    assert action.connection in SANDBOX_APPS, f"no sandbox for connection {action.connection}"
    result = make_engine(sandbox_transport, action.connection).invoke(name, example)
    assert result.calls and all(c.status == 200 for c in result.calls)
    assert PACK.schemas.errors(action.output, result.data) == []
    assert CANARY not in str(result.to_dict())


def _client_status_precondition(state: SandboxState, name: str, index: str) -> None:
    """The tenant holds one Client Status iterator: none before create, a ready one otherwise."""
    service = state.clientstatus
    existing = service.find(index)
    if name == "netskope.client_status.create":
        if existing is not None:
            service.delete(index)
    elif existing is None:
        service.create(index, ready_after=0)


@pytest.mark.parametrize("name", ACTIONS)
def test_unknown_input_is_refused_before_sending(name: str, make_engine: EngineFactory) -> None:
    router = respx.Router(assert_all_called=False)
    engine = make_engine(transport_for(router), PACK.actions[name].connection)
    with pytest.raises(errors.InputError) as caught:
        engine.invoke(name, {**PACK.actions[name].examples[0], "no_such_input": 1})
    assert ("/no_such_input", "additionalProperties") in [
        (e.pointer, e.rule) for e in caught.value.errors
    ]
    assert router.calls.call_count == 0


FAILURES = [
    pytest.param(
        httpx.Response(401, json={"message": "token expired"}),
        errors.AuthenticationError,
        1,
        id="401",
    ),
    pytest.param(
        httpx.Response(403, json={"message": "no scope"}), errors.PermissionDeniedError, 1, id="403"
    ),
    pytest.param(
        httpx.Response(429, headers={"Retry-After": "2"}), errors.RateLimitedError, 3, id="429"
    ),
    pytest.param(httpx.Response(500, text="internal error"), errors.ServerError, 1, id="500"),
    pytest.param(httpx.Response(503), errors.ServerError, 3, id="503"),
    pytest.param(
        httpx.Response(200, text="<html>login</html>", headers={"Content-Type": "text/html"}),
        errors.MalformedResponseError,
        3,
        id="html",
    ),
    pytest.param(httpx.ReadTimeout("read timed out"), errors.RequestTimeout, 3, id="timeout"),
]


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize(("answer", "error", "attempts"), FAILURES)
def test_failures_become_their_errors(
    name: str,
    answer: Any,
    error: type[errors.CallError],
    attempts: int,
    make_engine: EngineFactory,
    sleeps: Sleeps,
) -> None:
    action = PACK.actions[name]
    router = respx.Router(assert_all_called=True)
    route = router.route()
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    engine = make_engine(transport_for(router), action.connection)
    if isinstance(answer, httpx.Response) and answer.status_code >= 400:
        # A connection may document what a status means for its vendor (v2: 403 is auth).
        rule = errormap.rule_for_status(
            answer.status_code, PACK.connections[action.connection].status_overrides
        )
        error = rule.error
    with pytest.raises(error) as caught:
        engine.invoke(name, action.examples[0])
    assert CANARY not in str(caught.value) and CANARY not in repr(caught.value)
    if name in OWN_RETRY_POLICY:
        return
    # read actions retry what may succeed later (max_attempts is 3 in tests); others only
    # what proves the request was not processed (429, 503)
    retried = (
        action.side_effect == "read"
        or error is errors.RateLimitedError
        or (isinstance(answer, httpx.Response) and answer.status_code == 503)
    )
    expected = attempts if retried else 1
    assert route.call_count == expected and caught.value.attempts == expected
