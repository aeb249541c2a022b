"""The token exchange mechanism itself (soarpack/http/tokens.py), whatever the vendor."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import msgspec
import pytest

from soarpack import errors
from soarpack.checks import pack_problems
from soarpack.config import ConnectionSettings
from soarpack.http import tokens
from soarpack.http.client import ConnectionClient
from soarpack.http.invocation import CallRecord
from soarpack.manifest import AuthSpec, ConnectionSpec, TokenExchangeSpec
from soarpack.pack import Pack
from soarpack.redact import redact
from tests.conftest import BASE_URL, CANARY, REPO, Sleeps

EXCHANGE = TokenExchangeSpec(kind="oauth_client_credentials", path="/oauth/token")
AUTH = AuthSpec(
    place="header", name="Authorization", prefix="Bearer ", setting="token", exchange=EXCHANGE
)


def settings(**secrets: str) -> ConnectionSettings:
    values = {"base_url": BASE_URL, "client_id": "cid", "max_attempts": 2, "max_retry_wait": 60}
    return ConnectionSettings("vendor", values, {"client_secret": CANARY, **secrets})


def spec() -> ConnectionSpec:
    return ConnectionSpec(
        name="vendor",
        title="Vendor",
        description="a vendor with OAuth",
        settings={},
        auth=AUTH,
        test_action="vendor.x.test",
    )


def test_every_kind_in_the_manifest_schema_has_a_provider() -> None:
    schema = json.loads((REPO / "schemas" / "manifest.schema.json").read_text())
    auth = schema["$defs"]["connection"]["properties"]["auth"]["properties"]
    assert set(auth["exchange"]["properties"]["kind"]["enum"]) == set(tokens.PROVIDERS)
    for kind, provider in tokens.PROVIDERS.items():
        assert provider.kind == kind
        assert set(provider.secret_settings) <= set(provider.required_settings)


def test_a_configured_token_means_no_provider() -> None:
    assert tokens.provider_for(AUTH, settings(token=CANARY + "-static")) is None
    assert tokens.provider_for(msgspec.structs.replace(AUTH, exchange=None), settings()) is None
    assert isinstance(tokens.provider_for(AUTH, settings()), tokens.OAuthClientCredentials)


def test_missing_exchange_settings_are_a_config_error() -> None:
    bare = ConnectionSettings("vendor", {"base_url": BASE_URL}, {})
    with pytest.raises(
        errors.ConfigError, match="needs either token or client_id and client_secret"
    ):
        tokens.provider_for(AUTH, bare)


class Exchanges:
    """A token endpoint that counts its exchanges and hands out numbered tokens."""

    def __init__(self, pause: float = 0.0) -> None:
        self.count = 0
        self.pause = pause
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == EXCHANGE.path:
            with self._lock:
                self.count += 1
                number = self.count
            time.sleep(self.pause)  # widens the window in which a second exchange could start
            return httpx.Response(200, json={"access_token": f"tok-{number:04d}-abcdef"})
        return httpx.Response(200, json={"auth": request.headers["Authorization"]})


def test_concurrent_callers_share_one_exchange(sleeps: Sleeps) -> None:
    endpoint = Exchanges(pause=0.05)
    client = ConnectionClient(
        spec(), settings(), transport=httpx.MockTransport(endpoint), sleep=sleeps
    )
    seen: list[str] = []

    def call() -> None:
        reply = client.request("GET", "/thing", side_effect="read", calls=[])
        seen.append(reply.data["auth"])

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    client.close()
    assert endpoint.count == 1 and seen == ["Bearer tok-0001-abcdef"] * 8


def test_invalidating_a_replaced_token_keeps_the_new_one() -> None:
    endpoint = Exchanges()
    provider = tokens.provider_for(AUTH, settings())
    assert provider is not None
    with httpx.Client(base_url=BASE_URL, transport=httpx.MockTransport(endpoint)) as http:
        send = http.send
        first = provider.token(http, settings(), send)
        provider.invalidate(first)
        second = provider.token(http, settings(), send)
        provider.invalidate(first)  # another caller's stale token: ignored
        assert provider.token(http, settings(), send) == second != first
    assert endpoint.count == 2


def test_an_obtained_token_is_a_secret_at_once() -> None:
    provider = tokens.provider_for(AUTH, settings())
    assert provider is not None
    answer = {"access_token": "fresh-token-7788", "refresh_token": "refresh-4455", "expires_in": 60}
    with httpx.Client(
        base_url=BASE_URL, transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answer))
    ) as http:
        provider.token(http, settings(), http.send)
    assert redact("fresh-token-7788 refresh-4455") == "*** ***"


def test_the_exchange_is_recorded_with_the_calls(sleeps: Sleeps) -> None:
    client = ConnectionClient(
        spec(), settings(), transport=httpx.MockTransport(Exchanges()), sleep=sleeps
    )
    calls: list[CallRecord] = []
    client.request("GET", "/thing", side_effect="read", calls=calls)
    client.close()
    assert [(c.method, c.url, c.status) for c in calls] == [
        ("POST", f"{BASE_URL}/oauth/token", 200),
        ("GET", f"{BASE_URL}/thing", 200),
    ]


@pytest.mark.parametrize(
    ("answer", "error", "exchanges"),
    [
        pytest.param(httpx.Response(401), errors.AuthenticationError, 1, id="401"),
        pytest.param(httpx.Response(400), errors.InvalidRequestError, 1, id="400"),
        pytest.param(httpx.Response(500), errors.ServerError, 1, id="500"),
        pytest.param(httpx.Response(502), errors.ServerError, 2, id="502"),
        pytest.param(httpx.Response(503), errors.ServerError, 2, id="503"),
        pytest.param(httpx.Response(429), errors.RateLimitedError, 2, id="429"),
        pytest.param(httpx.ReadTimeout("slow"), errors.RequestTimeout, 2, id="timeout"),
        pytest.param(
            httpx.Response(200, text="<html>"), errors.MalformedResponseError, 2, id="bad"
        ),
        pytest.param(
            httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]"),
            errors.ConnectionFailed,
            1,
            id="tls",
        ),
    ],
)
def test_a_failed_exchange_is_retried_by_its_verdict_even_for_a_write(
    answer: httpx.Response | Exception,
    error: type[errors.CallError],
    exchanges: int,
    sleeps: Sleeps,
) -> None:
    # The action's own request was never sent: what may pass later is tried again
    # (max_attempts 2) whatever the action does, and the error says it was not processed.
    seen: list[str] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if isinstance(answer, Exception):
            raise answer
        return answer

    client = ConnectionClient(
        spec(), settings(), transport=httpx.MockTransport(endpoint), sleep=sleeps
    )
    with pytest.raises(error) as caught:
        client.request("POST", "/thing", side_effect="write", calls=[])
    client.close()
    assert seen == [EXCHANGE.path] * exchanges
    assert caught.value.processed is False


def test_validate_requires_the_exchange_settings() -> None:
    pack = Pack.load(REPO)
    broken = pack.connections["metaaccess"].settings
    props: dict[str, Any] = dict(broken["properties"])
    props.pop("client_id")
    props["client_secret"] = {k: v for k, v in props["client_secret"].items() if k != "x-secret"}
    conn = msgspec.structs.replace(
        pack.connections["metaaccess"], settings={**broken, "properties": props}
    )
    pack.manifest.connections["metaaccess"] = conn
    problems = [p for p in pack_problems(pack) if p[0] == "connections.metaaccess.settings"]
    assert problems == [
        (
            "connections.metaaccess.settings",
            "oauth_client_credentials exchange needs a setting 'client_id'",
        ),
        ("connections.metaaccess.settings", "setting 'client_secret' must be marked x-secret"),
    ]
