"""Lacework Edge auth: API key -> JWT through TokenLogin, cached, renewed once on a 401."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from soarpack import errors
from tests.conftest import CANARY, EngineFactory
from tests.lacework_edge.helpers import ACCOUNT, BASE, JWT, lacework_engine, login_route

USER = {"uuid": "u-1", "status": 2}


def test_one_login_serves_many_calls_and_sends_the_key_only_to_token_login(
    make_engine: EngineFactory,
) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login = login_route(router)
    users = router.get("/api/v1/users/u-1").mock(return_value=httpx.Response(200, json=USER))
    engine = lacework_engine(make_engine, router)
    for _ in range(3):
        result = engine.invoke("lacework_edge.users.get", {"uuid": "u-1"})
    assert login.call_count == 1 and users.call_count == 3
    sent = login.calls.last.request
    assert dict(sent.url.params) == {"account": ACCOUNT}
    assert sent.headers["Authorization"] == f"Bearer {CANARY}"
    assert all(c.request.headers["Authorization"] == f"Bearer {JWT}" for c in users.calls)
    shown = json.dumps(result.to_dict())
    assert CANARY not in shown and JWT not in shown
    assert result.data["status_name"] == "ACTIVE"


def test_the_auth_header_and_scheme_are_configurable(make_engine: EngineFactory) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login = login_route(router)
    users = router.get("/api/v1/users/u-1").mock(return_value=httpx.Response(200, json=USER))
    engine = lacework_engine(make_engine, router, auth_header="X-Edge-Auth", auth_scheme="Token")
    engine.invoke("lacework_edge.users.get", {"uuid": "u-1"})
    assert login.calls.last.request.headers["X-Edge-Auth"] == f"Token {CANARY}"
    assert users.calls.last.request.headers["X-Edge-Auth"] == f"Token {JWT}"
    assert "Authorization" not in users.calls.last.request.headers


def test_a_refused_jwt_is_renewed_once_and_the_call_resent(make_engine: EngineFactory) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    tokens = iter(["jwt-one-expired-early", "jwt-two-fresh"])
    login = router.get("/api/v1/token_login").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"token": next(tokens), "ttl_sec": 3600}
        )
    )
    answers = iter([httpx.Response(401, json={"message": "token expired"})])
    # a write: the 401 proves it was not processed, so it is resent once
    update = router.patch("/api/v1/users/u-1").mock(
        side_effect=lambda request: next(answers, httpx.Response(200, json=USER))
    )
    lacework_engine(make_engine, router).invoke(
        "lacework_edge.users.update", {"uuid": "u-1", "user": {"status": "SUSPENDED"}}
    )
    assert login.call_count == 2 and update.call_count == 2
    assert [c.request.headers["Authorization"] for c in update.calls] == [
        "Bearer jwt-one-expired-early",
        "Bearer jwt-two-fresh",
    ]
    assert json.loads(update.calls.last.request.content)["user"] == {"status": 3}


def test_a_second_401_stands(make_engine: EngineFactory) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login = login_route(router)
    users = router.get("/api/v1/users/u-1").mock(
        return_value=httpx.Response(401, json={"message": "signature invalid"})
    )
    with pytest.raises(errors.AuthenticationError) as caught:
        lacework_engine(make_engine, router).invoke("lacework_edge.users.get", {"uuid": "u-1"})
    assert login.call_count == 2 and users.call_count == 2
    assert "signature invalid" in str(caught.value) and JWT not in repr(caught.value)


@pytest.mark.parametrize("status", [pytest.param(403, id="403"), pytest.param(401, id="401")])
def test_a_refused_api_key_is_an_authentication_error_and_nothing_else_is_sent(
    status: int, make_engine: EngineFactory
) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login = router.get("/api/v1/token_login").mock(
        return_value=httpx.Response(status, json={"message": "invalid api token"})
    )
    with pytest.raises(errors.AuthenticationError) as caught:
        lacework_engine(make_engine, router).invoke("lacework_edge.users.get", {"uuid": "u-1"})
    assert login.call_count == 1 and router.calls.call_count == 1
    assert "api_key" in str(caught.value) and CANARY not in str(caught.value)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(httpx.Response(200, json={"ttl_sec": 60}), id="no-token"),
        pytest.param(httpx.Response(200, text="<html>sign in</html>"), id="html"),
        pytest.param(httpx.Response(200, text='{"token": "abc",'), id="truncated-json"),
    ],
)
def test_an_unusable_login_answer_is_a_malformed_response(
    answer: httpx.Response, make_engine: EngineFactory
) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    router.get("/api/v1/token_login").mock(return_value=answer)
    with pytest.raises(errors.MalformedResponseError):
        lacework_engine(make_engine, router).invoke("lacework_edge.users.get", {"uuid": "u-1"})


def test_a_configured_jwt_is_used_as_is_without_logging_in(make_engine: EngineFactory) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    users = router.get("/api/v1/users/u-1").mock(return_value=httpx.Response(200, json=USER))
    engine = lacework_engine(make_engine, router, jwt="preissued-jwt-value")
    engine.invoke("lacework_edge.users.get", {"uuid": "u-1"})
    assert users.calls.last.request.headers["Authorization"] == "Bearer preissued-jwt-value"
    assert router.calls.call_count == 1


def test_settings_need_a_key_or_a_jwt(make_engine: EngineFactory) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=False)
    engine = make_engine(
        httpx.MockTransport(router.handler), "lacework_edge", base_url=BASE, api_key=""
    )
    with pytest.raises(errors.ConfigError):
        engine.invoke("lacework_edge.users.get", {"uuid": "u-1"})
    assert router.calls.call_count == 0
