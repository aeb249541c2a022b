"""Conformance: every action declared in the manifest, checked the same way.

A new action gets these checks for free: its schemas are valid, its examples
validate, each example runs against the sandbox and passes the output check, an
unknown input is refused with nothing sent, and 401 / 429 / 500 / malformed answers
become the right errors. Vendor-specific behaviour has its own test modules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from jsonschema import Draft202012Validator

from soarpack import errors
from soarpack.http import errormap
from soarpack.pack import Pack
from soarpack.sandbox import (
    InProcessTransport,
    SandboxState,
    create_lacework_edge_app,
    create_metaaccess_app,
    create_netskope_app,
)
from tests.conftest import CANARY, REPO, EngineFactory, Sleeps, transport_for

PACK = Pack.load(REPO)
ACTIONS = sorted(PACK.actions)
EXAMPLES = [
    pytest.param(name, index, example, id=f"{name}[{index}]")
    for name in ACTIONS
    for index, example in enumerate(PACK.actions[name].examples)
]
SANDBOX_APPS = {
    "netskope": create_netskope_app,
    "netskope_v2": create_netskope_app,
    "metaaccess": create_metaaccess_app,
    "lacework_edge": create_lacework_edge_app,
}
# Statuses an example's normal run may record besides 200, by action: how the vendor says
# where its pages end (MetaAccess answers 413 to the page after the last).
END_STATUSES = {"metaaccess.devices.status_changed": {413}}
# Actions that retry by their own protocol on top of the client's (the ingest resends
# after uncertain failures); tests/ingest covers how.
OWN_RETRY_POLICY = {"netskope.dataexport.ingest"}
# Write actions whose first request is a read of the record (the alert's update time to
# send, the user's status before the change): that read is retried like any read.
READS_FIRST = {
    "lacework_edge.alerts.ack",
    "lacework_edge.alerts.add_note",
    "lacework_edge.alerts.bulk",
    "lacework_edge.alerts.close",
    "lacework_edge.alerts.run_workflow",
    "lacework_edge.alerts.set_status",
    "lacework_edge.users.reactivate",
    "lacework_edge.users.suspend",
}


def _tenant() -> SandboxState:
    # Each test builds a fresh client (and client-side limiter) against one tenant: the
    # tenant's limiter would see bursts no single client makes. Its own tests cover it.
    state = SandboxState(token=CANARY, v2_rate_limit=False)
    state.metaaccess.rate_limit = False
    return state


@pytest.fixture(scope="module")
def shared_state() -> SandboxState:
    return _tenant()


@pytest.fixture
def sandbox_state(shared_state: SandboxState, request: pytest.FixtureRequest) -> SandboxState:
    """The module's tenant; a destructive example gets one of its own, so what it deletes
    (a device, an iterator) is still there for the examples that read it."""
    callspec = getattr(request.node, "callspec", None)
    name = callspec.params.get("name") if callspec is not None else None
    if name in PACK.actions and PACK.actions[name].side_effect == "destructive":
        return _tenant()
    return shared_state


@pytest.fixture
def sandbox_transport(
    sandbox_state: SandboxState,
) -> Iterator[Callable[[str], httpx.BaseTransport]]:
    """A transport to the sandbox app of a connection (closed after the test)."""
    made: list[InProcessTransport] = []

    def for_connection(connection: str) -> httpx.BaseTransport:
        made.append(InProcessTransport(SANDBOX_APPS[connection](sandbox_state)))
        return made[-1]

    yield for_connection
    for transport in made:
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
    sandbox_transport: Callable[[str], httpx.BaseTransport],
    sandbox_state: SandboxState,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # actions that write files (ingest) write here
    action = PACK.actions[name]
    if name.startswith("netskope.client_status."):
        _client_status_precondition(sandbox_state, name, example["index"])
    assert action.connection in SANDBOX_APPS, f"no sandbox for connection {action.connection}"
    transport = sandbox_transport(action.connection)
    result = make_engine(transport, action.connection).invoke(name, example)
    # 201 where the vendor documents Created for the operation
    normal = {200, 201} | END_STATUSES.get(name, set())
    assert result.calls and all(c.status in normal for c in result.calls)
    assert PACK.schemas.errors(action.output, result.data) == []
    assert CANARY not in str(result.to_dict())


def _client_status_precondition(state: SandboxState, name: str, index: str) -> None:
    """The tenant holds one Client Status iterator: none before create, a ready one otherwise."""
    service = state.clientstatus
    existing = service.find(index)
    if name == "netskope.client_status.create":
        if existing is not None:
            service.delete(index)
    elif existing is None or not existing.ready:
        if existing is not None:
            service.delete(index)
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
    engine = make_engine(
        transport_for(router), action.connection, **_configured_token(action.connection)
    )
    if isinstance(answer, httpx.Response) and answer.status_code >= 400:
        # A connection may document what a status means for its vendor (v2: 403 is auth).
        rule = errormap.for_status(
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
        or name in READS_FIRST
        or error is errors.RateLimitedError
        or (isinstance(answer, httpx.Response) and answer.status_code == 503)
    )
    expected = attempts if retried else 1
    assert route.call_count == expected and caught.value.attempts == expected


def _configured_token(connection: str) -> dict[str, Any]:
    """A connection that can obtain its token by exchange (auth `exchange`) gets one
    configured here, so each failure lands on the action's own request rather than on the
    exchange: an exchange's failures are retried more freely (nothing of the action was
    sent) and are covered by soarpack/http/tokens.py's and each vendor's own tests."""
    auth = PACK.connections[connection].auth
    return {auth.setting: CANARY} if auth.exchange is not None else {}
