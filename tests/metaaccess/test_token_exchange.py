"""MetaAccess with client credentials: the OAuth exchange, its cache and expiry, renewal
after a 401, and every way the exchange can fail."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.config import Config
from soarpack.http.client import ConnectionClient
from soarpack.http.invocation import CallRecord
from soarpack.pack import Pack
from tests.conftest import BASE_URL, CANARY, EngineFactory, Sleeps, settings_env, transport_for
from tests.metaaccess.helpers import (
    ACTION,
    CLIENT_ID,
    EXAMPLE_SHORT,
    ISSUED,
    ISSUED_2,
    PATH,
    TOKEN_PATH,
    exchange_settings,
    token_answer,
)

SECRETS = (CANARY, ISSUED, ISSUED_2)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret} leaked"


def engine_for(make_engine: EngineFactory, router: respx.Router, **values: Any) -> Any:
    return make_engine(transport_for(router), "metaaccess", **exchange_settings(**values))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def client(
    pack: Pack, router: respx.Router, sleeps: Sleeps, clock: FakeClock
) -> Iterator[ConnectionClient]:
    """The metaaccess client itself, with a clock the test moves."""
    spec = pack.connection("metaaccess")
    settings = Config(env=settings_env("metaaccess", **exchange_settings())).settings(
        spec, pack.schemas
    )
    made = ConnectionClient(
        spec, settings, transport=transport_for(router), sleep=sleeps, clock=clock
    )
    yield made
    made.close()


def post(client: ConnectionClient, side_effect: str = "read") -> list[CallRecord]:
    calls: list[CallRecord] = []
    client.request("POST", PATH, side_effect=side_effect, calls=calls, json_body={"limit": 1})
    return calls


# -- the exchange ----------------------------------------------------------------------


def test_the_token_is_obtained_then_placed_in_the_query(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    exchange = router.post(TOKEN_PATH).mock(return_value=token_answer())
    call = router.post(PATH).respond(200, json=EXAMPLE_SHORT)
    result = engine_for(make_engine, router).invoke(ACTION, {})
    sent = exchange.calls.last.request
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(sent.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [CANARY],
    }
    assert not sent.url.query  # the client secret travels in the body only
    assert call.calls.last.request.url.params["access_token"] == ISSUED
    # The exchange is part of the audit trail; the token is not.
    assert [(c.method, c.url, c.status) for c in result.calls] == [
        ("POST", f"{BASE_URL}{TOKEN_PATH}", 200),
        ("POST", f"{BASE_URL}{PATH}?access_token=***", 200),
    ]
    assert_clean(str(result.to_dict()))


def test_one_exchange_serves_many_calls(make_engine: EngineFactory, router: respx.Router) -> None:
    exchange = router.post(TOKEN_PATH).mock(return_value=token_answer())
    call = router.post(PATH).respond(200, json=EXAMPLE_SHORT)
    engine = engine_for(make_engine, router)
    for _ in range(5):
        engine.invoke(ACTION, {})
    engine.invoke("metaaccess.connection.test", {})
    assert exchange.call_count == 1 and call.call_count == 6


def test_the_token_is_renewed_shortly_before_it_expires(
    client: ConnectionClient, router: respx.Router, clock: FakeClock
) -> None:
    exchange = router.post(TOKEN_PATH).mock(
        side_effect=[token_answer(ISSUED, 3600), token_answer(ISSUED_2, 3600)]
    )
    call = router.post(PATH).respond(200, json=EXAMPLE_SHORT)
    post(client)
    clock.now += 3500  # still before the renewal point, 30 s before expiry
    post(client)
    assert exchange.call_count == 1
    clock.now += 80  # 3580 s: within the last 30 s, so renewed before it is refused
    post(client)
    assert exchange.call_count == 2
    tokens = [c.request.url.params["access_token"] for c in call.calls]
    assert tokens == [ISSUED, ISSUED, ISSUED_2]


def test_a_short_lived_token_is_renewed_after_nine_tenths_of_its_life(
    client: ConnectionClient, router: respx.Router, clock: FakeClock
) -> None:
    exchange = router.post(TOKEN_PATH).mock(
        side_effect=[token_answer(ISSUED, "60"), token_answer(ISSUED_2, 60)]
    )
    router.post(PATH).respond(200, json=EXAMPLE_SHORT)
    post(client)
    clock.now += 53
    post(client)
    assert exchange.call_count == 1
    clock.now += 2
    post(client)
    assert exchange.call_count == 2


def test_without_expires_in_the_token_is_kept_until_refused(
    client: ConnectionClient, router: respx.Router, clock: FakeClock
) -> None:
    exchange = router.post(TOKEN_PATH).mock(
        return_value=httpx.Response(200, json={"access_token": ISSUED})
    )
    router.post(PATH).respond(200, json=EXAMPLE_SHORT)
    post(client)
    clock.now += 10 * 86400
    post(client)
    assert exchange.call_count == 1


# -- 401: renew once -------------------------------------------------------------------


def test_a_401_renews_the_token_and_resends_once(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    exchange = router.post(TOKEN_PATH).mock(
        side_effect=[token_answer(ISSUED), token_answer(ISSUED_2)]
    )
    call = router.post(PATH).mock(
        side_effect=[
            httpx.Response(401, json={"message": "invalid token"}),
            httpx.Response(200, json=EXAMPLE_SHORT),
        ]
    )
    result = engine_for(make_engine, router).invoke(ACTION, {})
    assert exchange.call_count == 2 and call.call_count == 2
    assert [c.request.url.params["access_token"] for c in call.calls] == [ISSUED, ISSUED_2]
    assert [(c.url.split("?")[0].endswith(TOKEN_PATH), c.status) for c in result.calls] == [
        (True, 200),
        (False, 401),
        (True, 200),
        (False, 200),
    ]
    assert_clean(str(result.to_dict()))


def test_a_second_401_is_an_authentication_error(
    make_engine: EngineFactory, router: respx.Router, sleeps: Sleeps
) -> None:
    exchange = router.post(TOKEN_PATH).mock(
        side_effect=[token_answer(ISSUED), token_answer(ISSUED_2)]
    )
    call = router.post(PATH).respond(401, json={"message": "invalid token"})
    with pytest.raises(errors.AuthenticationError) as caught:
        engine_for(make_engine, router).invoke(ACTION, {})
    assert exchange.call_count == 2 and call.call_count == 2 and sleeps == []
    assert caught.value.status == 401 and caught.value.attempts == 1
    assert_clean(str(caught.value) + repr(caught.value) + str(caught.value.to_dict()))


@pytest.mark.parametrize("side_effect", ["write", "destructive"])
def test_the_renewal_resends_whatever_the_side_effect(
    client: ConnectionClient, router: respx.Router, side_effect: str
) -> None:
    # A 401 proves the request was not processed, so resending cannot act twice.
    router.post(TOKEN_PATH).mock(side_effect=[token_answer(ISSUED), token_answer(ISSUED_2)])
    call = router.post(PATH).mock(
        side_effect=[httpx.Response(401), httpx.Response(200, json={"ok": 1})]
    )
    post(client, side_effect)
    assert call.call_count == 2


def test_a_configured_token_is_not_renewed(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    # access_token set (the default test settings): no exchange, and a 401 stands.
    call = router.post(PATH).respond(401, json={"message": "invalid token"})
    with pytest.raises(errors.AuthenticationError):
        make_engine(transport_for(router), "metaaccess").invoke(ACTION, {})
    assert call.call_count == 1


# -- a failed exchange ---------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            httpx.Response(
                401,
                json={"error": "invalid_client", "error_description": "Client auth failed"},
            ),
            id="401-invalid_client",
        ),
        pytest.param(
            httpx.Response(400, json={"error": "invalid_client"}), id="400-invalid_client"
        ),
        pytest.param(
            httpx.Response(400, json={"error": "unauthorized_client"}),
            id="400-unauthorized_client",
        ),
    ],
)
def test_refused_client_credentials_are_an_authentication_error(
    make_engine: EngineFactory, router: respx.Router, answer: httpx.Response, sleeps: Sleeps
) -> None:
    exchange = router.post(TOKEN_PATH).mock(return_value=answer)
    with pytest.raises(errors.AuthenticationError) as caught:
        engine_for(make_engine, router).invoke(ACTION, {})
    error = caught.value
    assert type(error) is errors.AuthenticationError and error.status == answer.status_code
    assert "refused the credentials" in str(error) and "client_secret" in str(error)
    assert exchange.call_count == 1 and sleeps == []  # not retried
    assert error.url == f"{BASE_URL}{TOKEN_PATH}"
    assert_clean(str(error) + repr(error) + str(error.to_dict()))


def test_other_400s_of_the_exchange_are_bad_requests(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    router.post(TOKEN_PATH).respond(400, json={"error": "unsupported_grant_type"})
    with pytest.raises(errors.InvalidRequestError, match="unsupported_grant_type"):
        engine_for(make_engine, router).invoke(ACTION, {})


def test_a_client_secret_echoed_by_the_vendor_is_masked(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    router.post(TOKEN_PATH).respond(
        401, json={"error": "invalid_client", "error_description": f"bad secret {CANARY}"}
    )
    with pytest.raises(errors.AuthenticationError) as caught:
        engine_for(make_engine, router).invoke(ACTION, {})
    assert_clean(str(caught.value) + str(caught.value.to_dict()))


@pytest.mark.parametrize("side_effect", ["read", "write"])
def test_a_503_of_the_exchange_is_retried(
    client: ConnectionClient, router: respx.Router, sleeps: Sleeps, side_effect: str
) -> None:
    # The action's request was not sent yet, so retrying is safe whatever it does.
    exchange = router.post(TOKEN_PATH).mock(
        side_effect=[httpx.Response(503), httpx.Response(502), token_answer()]
    )
    router.post(PATH).respond(200, json={})
    calls = post(client, side_effect)
    assert exchange.call_count == 3 and len(sleeps) == 2
    assert [c.status for c in calls] == [503, 502, 200, 200]


def test_a_429_of_the_exchange_waits_retry_after(
    client: ConnectionClient, router: respx.Router, sleeps: Sleeps
) -> None:
    router.post(TOKEN_PATH).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "4"}), token_answer()]
    )
    router.post(PATH).respond(200, json={})
    post(client)
    assert sleeps == [4.0]


def test_a_500_of_the_exchange_is_a_server_error(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    exchange = router.post(TOKEN_PATH).respond(500, text="internal error")
    with pytest.raises(errors.ServerError) as caught:
        engine_for(make_engine, router).invoke(ACTION, {})
    assert exchange.call_count == 1 and "access token" in str(caught.value)
    assert "internal error" in str(caught.value)


def test_an_exchange_that_times_out(make_engine: EngineFactory, router: respx.Router) -> None:
    exchange = router.post(TOKEN_PATH).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.RequestTimeout) as caught:
        engine_for(make_engine, router).invoke(ACTION, {})
    assert exchange.call_count == 3 and caught.value.attempts == 3
    assert caught.value.url == f"{BASE_URL}{TOKEN_PATH}"


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        pytest.param(
            httpx.Response(200, text='{"access_token": "abc",}'), "not a JSON object", id="json"
        ),
        pytest.param(httpx.Response(200, html="<html>portal</html>"), "not a JSON", id="html"),
        pytest.param(httpx.Response(200, json={"token": "x"}), "no access_token", id="missing"),
        pytest.param(
            httpx.Response(200, json={"access_token": ISSUED, "expires_in": "soon"}),
            "expires_in",
            id="bad-expiry",
        ),
        pytest.param(
            httpx.Response(200, json={"access_token": ISSUED, "expires_in": -5}),
            "expires_in",
            id="negative-expiry",
        ),
    ],
)
def test_an_unusable_token_answer_is_malformed(
    make_engine: EngineFactory, router: respx.Router, answer: httpx.Response, words: str
) -> None:
    router.post(TOKEN_PATH).mock(return_value=answer)
    with pytest.raises(errors.MalformedResponseError, match=words) as caught:
        engine_for(make_engine, router).invoke(ACTION, {})
    assert_clean(str(caught.value) + str(caught.value.to_dict()))


# -- settings ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "named"),
    [
        pytest.param({"access_token": None}, ["/"], id="none"),
        pytest.param(
            {"client_id": CLIENT_ID, "client_secret": CANARY},
            ["access_token", "client_id", "client_secret"],
            id="both",
        ),
        pytest.param(
            {"access_token": None, "client_id": CLIENT_ID}, ["client_id"], id="id-without-secret"
        ),
    ],
)
def test_settings_need_a_token_or_client_credentials(
    pack: Pack, values: dict[str, Any], named: list[str]
) -> None:
    config = Config(env=settings_env("metaaccess", **values))
    with pytest.raises(errors.ConfigError) as caught:
        config.settings(pack.connection("metaaccess"), pack.schemas)
    text = str(caught.value)
    assert "set either access_token, or client_id and client_secret" in text
    for name in named:
        assert f"  - {name}: " in text
    assert CANARY not in text


def test_base_url_defaults_to_gears(pack: Pack) -> None:
    env = {"SOARPACK_METAACCESS_ACCESS_TOKEN": CANARY}
    settings = Config(env=env).settings(pack.connection("metaaccess"), pack.schemas)
    assert settings.get("base_url") == "https://gears.opswat.com"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        pytest.param("https://gears.opswat.com", True, id="default"),
        pytest.param("https://eu.metaaccess.example/api", True, id="https-prefix"),
        pytest.param("http://127.0.0.1:8765/metaaccess", True, id="loopback-prefix"),
        pytest.param("http://gears.opswat.com", False, id="http-remote"),
        pytest.param("https://gears.opswat.com/?x=1", False, id="query"),
    ],
)
def test_base_url_policy(pack: Pack, url: str, ok: bool) -> None:
    env = {"SOARPACK_METAACCESS_ACCESS_TOKEN": CANARY, "SOARPACK_METAACCESS_BASE_URL": url}
    spec = pack.connection("metaaccess")
    if not ok:
        with pytest.raises(errors.ConfigError):
            ConnectionClient(spec, Config(env=env).settings(spec, pack.schemas)).close()
        return
    ConnectionClient(spec, Config(env=env).settings(spec, pack.schemas)).close()
