"""Hostile token endpoints: an exchange (MetaAccess OAuth client credentials, Lacework Edge
TokenLogin) is bounded like every other call, by max_response_bytes counted after
decompression, by the invocation's deadline and by total_timeout. The action's own
request is never sent, and what the endpoint received is checked."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from soarpack import errors
from soarpack.engine import Engine
from tests.conftest import CANARY, EngineFactory
from tests.hostile.test_responses import bounded, endless
from tests.lacework_edge.helpers import ACCOUNT
from tests.lacework_edge.helpers import BASE as EDGE_BASE
from tests.metaaccess.helpers import ACTION as METAACCESS_ACTION
from tests.metaaccess.helpers import TOKEN_PATH as OAUTH_PATH
from tests.metaaccess.helpers import exchange_settings

CAP = 64 << 10


@dataclass(frozen=True)
class Kind:
    connection: str
    token_method: str
    token_path: str
    action: str
    inputs: dict[str, Any]
    settings: dict[str, Any]
    answer: dict[str, Any]  # a valid answer to the action's own request


KINDS = [
    pytest.param(
        Kind(
            "metaaccess",
            "POST",
            OAUTH_PATH,
            METAACCESS_ACTION,
            {},
            exchange_settings(),
            {"monitored_devices": [], "deleted_devices": []},
        ),
        id="oauth-client-credentials",
    ),
    pytest.param(
        Kind(
            "lacework_edge",
            "GET",
            "/api/v1/token_login",
            "lacework_edge.users.get",
            {"uuid": "ex-users-1"},
            {"base_url": EDGE_BASE, "api_key": CANARY, "account": ACCOUNT},
            {"uuid": "ex-users-1", "status": 2},
        ),
        id="lacework-token-login",
    ),
]


@dataclass
class TokenEndpoint:
    """Answers the exchange with `answer` and records every request it receives."""

    kind: Kind
    answer: Callable[[], httpx.Response]
    received: list[str] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.received.append(f"{request.method} {request.url.path}")
        self.requests.append(request)
        if request.url.path == self.kind.token_path:
            return self.answer()
        return httpx.Response(200, json=self.kind.answer)  # in the hostile cases: never

    @property
    def exchanges(self) -> list[str]:
        return [r for r in self.received if r.endswith(self.kind.token_path)]


def engine_for(make_engine: EngineFactory, endpoint: TokenEndpoint, **settings: Any) -> Engine:
    kind = endpoint.kind
    values = {**kind.settings, "max_response_bytes": CAP, "max_attempts": 3, **settings}
    return make_engine(httpx.MockTransport(endpoint), kind.connection, **values)


def failure(engine: Engine, kind: Kind, deadline: float | None = None) -> errors.SoarpackError:
    try:
        bounded(lambda: engine.invoke(kind.action, kind.inputs, deadline=deadline))
    except errors.SoarpackError as exc:
        assert CANARY not in str(exc) and CANARY not in json.dumps(exc.to_dict())
        return exc
    raise AssertionError("the hostile token answer was accepted")


class _Endless(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b'{"access_token": "'
        yield from endless(b"x" * 4096)


class _Drip(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield from endless(b" ", pause=0.05)  # each read is quick, the sum is endless


ISSUED = "tok-issued-under-the-cap-5e1f"


def _token_body(padding: int) -> bytes:
    return json.dumps({"access_token": ISSUED, "token": ISSUED, "pad": "x" * padding}).encode()


ANSWERS = [
    pytest.param(lambda: httpx.Response(200, content=_token_body(CAP)), id="over-the-cap"),
    pytest.param(lambda: httpx.Response(200, stream=_Endless()), id="endless-no-length"),
    pytest.param(
        lambda: httpx.Response(
            200, content=gzip.compress(_token_body(8 << 20)), headers={"content-encoding": "gzip"}
        ),
        id="gzip-bomb",
    ),
    pytest.param(lambda: httpx.Response(401, content=_token_body(CAP)), id="refusal-over-the-cap"),
]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("answer", ANSWERS)
def test_a_token_answer_over_the_cap_is_refused_unread_and_not_asked_again(
    kind: Kind, answer: Callable[[], httpx.Response], make_engine: EngineFactory
) -> None:
    endpoint = TokenEndpoint(kind, answer)
    error = failure(engine_for(make_engine, endpoint), kind)
    assert isinstance(error, errors.MalformedResponseError)
    assert f"larger than max_response_bytes ({CAP} bytes)" in str(error)
    assert error.url is not None and httpx.URL(error.url).path == kind.token_path
    # One exchange (an answer too large stays too large) and no request of the action.
    assert endpoint.received == [f"{kind.token_method} {kind.token_path}"]


def test_a_gzip_bomb_is_small_on_the_wire() -> None:
    assert len(gzip.compress(_token_body(8 << 20))) < CAP  # so only decompressed it counts


@pytest.mark.parametrize("kind", KINDS)
def test_a_token_answer_under_the_cap_still_works(kind: Kind, make_engine: EngineFactory) -> None:
    # The bound changes nothing for a normal exchange (same answer, gzip included).
    body = _token_body(CAP // 2)
    endpoint = TokenEndpoint(
        kind,
        lambda: httpx.Response(
            200, content=gzip.compress(body), headers={"content-encoding": "gzip"}
        ),
    )
    engine_for(make_engine, endpoint).invoke(kind.action, kind.inputs)
    assert endpoint.exchanges == [endpoint.received[0]] and len(endpoint.received) == 2
    sent = endpoint.requests[1]  # the action's request, with the token obtained
    assert ISSUED in str(sent.url) or ISSUED in sent.headers.get("authorization", "")


@pytest.mark.parametrize("kind", KINDS)
def test_a_dripping_token_answer_ends_at_total_timeout(
    kind: Kind, make_engine: EngineFactory
) -> None:
    endpoint = TokenEndpoint(kind, lambda: httpx.Response(200, stream=_Drip()))
    error = failure(engine_for(make_engine, endpoint, total_timeout=1), kind)
    assert isinstance(error, errors.RequestTimeout)
    assert "still sending its answer when total_timeout ran out" in str(error)
    assert endpoint.received == endpoint.exchanges and len(endpoint.exchanges) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_dripping_token_answer_ends_at_the_invocations_deadline(
    kind: Kind, make_engine: EngineFactory
) -> None:
    endpoint = TokenEndpoint(kind, lambda: httpx.Response(200, stream=_Drip()))
    engine = engine_for(make_engine, endpoint, total_timeout=300)
    error = failure(engine, kind, deadline=time.monotonic() + 1)
    assert isinstance(error, errors.RequestTimeout)
    assert "still sending its answer when the step's timeout ran out" in str(error)
    assert endpoint.received == endpoint.exchanges and len(endpoint.exchanges) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_the_exchange_request_carries_the_deadline_as_its_timeouts(
    kind: Kind, make_engine: EngineFactory
) -> None:
    # A transport honours the timeouts in the request: with 2 s left, no phase may wait
    # for the configured 60 s (a silent endpoint would hold the step that long).
    seen: list[dict[str, Any]] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        seen.append(dict(request.extensions["timeout"]))
        return httpx.Response(401, json={"message": "bad key"})

    engine = make_engine(
        httpx.MockTransport(refuse), kind.connection, **kind.settings, read_timeout=60
    )
    with pytest.raises(errors.AuthenticationError):
        engine.invoke(kind.action, kind.inputs, deadline=time.monotonic() + 2)
    assert len(seen) == 1 and all(0 < value <= 2 for value in seen[0].values())
