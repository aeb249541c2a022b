"""Lacework Edge simulator: token login, JWTs, their expiry, the auth header, read-only keys."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from soarpack.sandbox import create_lacework_edge_app, start_server
from soarpack.sandbox.lacework_edge.auth import auth_headers, issue_jwt
from tests.sandbox.lacework_edge.helpers import (
    API_KEY,
    START,
    Edge,
    edge,
    make_state,
    message,
    ok,
    open_edge,
)

__all__ = ["edge"]


def _login(http: httpx.Client, key: str = API_KEY, account: str = "acme") -> httpx.Response:
    return http.get(
        "/api/v1/token_login",
        params={"account": account},
        headers={"Authorization": f"Bearer {key}"},
    )


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    claims: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    return claims


def test_token_login_answers_a_signed_jwt_with_absolute_expiry(edge: Edge) -> None:
    body = ok(_login(edge.raw), "auth.token_login")
    parts = body["token"].split(".")
    assert len(parts) == 3 and all(parts)
    claims = _claims(body["token"])
    assert claims["account"] == "acme"
    assert claims["exp"] == int(START) + 3600
    assert body["expire_time_sec"] == int(START) + 3600
    assert body["ttl_sec"] == 3600
    assert body["account_name"] == "acme"
    assert body["user_uuid"] == edge.tenant.api_user_uuid
    users = edge.http.get("/api/v1/users", headers={"Authorization": f"Bearer {body['token']}"})
    assert users.status_code == 200


def test_logins_are_counted(edge: Edge) -> None:
    token = _login(edge.raw).json()["token"]
    for _ in range(3):
        response = edge.raw.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
    assert edge.tenant.logins == 1
    _login(edge.raw)
    assert edge.tenant.logins == 2


def test_wrong_api_key_or_unknown_account_is_403(edge: Edge) -> None:
    assert "API key" in message(_login(edge.raw, key="nope"), 403)
    assert "account" in message(_login(edge.raw, account="globex"), 403)
    no_header = edge.raw.get("/api/v1/token_login", params={"account": "acme"})
    message(no_header, 403)
    expired = issue_jwt(edge.tenant, ttl=-1)
    message(_login(edge.raw, key=expired), 403)
    assert edge.tenant.logins == 0


def test_a_valid_jwt_refreshes_the_session_without_a_login(edge: Edge) -> None:
    edge.clock.advance(100)
    body = ok(_login(edge.raw, key=issue_jwt(edge.tenant), account="ex-auth-1"), "auth.token_login")
    assert _claims(body["token"])["account"] == "ex-auth-1"
    assert body["expire_time_sec"] == int(START) + 100 + 3600
    assert edge.tenant.logins == 0


def test_operations_need_a_valid_jwt(edge: Edge) -> None:
    assert "missing token" in message(edge.raw.get("/api/v1/users"), 401)
    malformed = edge.raw.get("/api/v1/users", headers={"Authorization": "Bearer not-a-jwt"})
    assert "not a JWT" in message(malformed, 401)
    no_scheme = edge.raw.get("/api/v1/users", headers={"Authorization": issue_jwt(edge.tenant)})
    assert "malformed" in message(no_scheme, 401)
    header, payload, _ = issue_jwt(edge.tenant).split(".")
    forged = f"{header}.{payload}.{'A' * 43}"
    bad_sig = edge.raw.get("/api/v1/users", headers={"Authorization": f"Bearer {forged}"})
    assert "signature" in message(bad_sig, 401)
    # The API key itself does not open operations either.
    key = edge.raw.get("/api/v1/users", headers={"Authorization": f"Bearer {API_KEY}"})
    message(key, 401)


def test_jwt_expires_on_the_injected_clock(edge: Edge) -> None:
    token = _login(edge.raw).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    edge.clock.advance(3599)
    assert edge.raw.get("/api/v1/users", headers=headers).status_code == 200
    edge.clock.advance(1)
    assert "expired" in message(edge.raw.get("/api/v1/users", headers=headers), 401)
    fresh = _login(edge.raw).json()["token"]
    assert edge.raw.get("/api/v1/users", headers={"Authorization": f"Bearer {fresh}"}).is_success


def test_jwt_lifetime_is_configurable() -> None:
    state, clock = make_state(jwt_ttl=60)
    edge = open_edge(state, clock)
    with edge.http, edge.raw:
        body = _login(edge.raw).json()
        assert (body["ttl_sec"], body["expire_time_sec"]) == (60, int(START) + 60)
        clock.advance(60)
        response = edge.raw.get(
            "/api/v1/users", headers={"Authorization": f"Bearer {body['token']}"}
        )
        message(response, 401)


def test_auth_header_and_scheme_are_configurable() -> None:
    state, clock = make_state(auth_header="X-Edge-Token", auth_scheme="")
    edge = open_edge(state, clock)
    with edge.http, edge.raw:
        login = edge.raw.get(
            "/api/v1/token_login", params={"account": "acme"}, headers={"X-Edge-Token": API_KEY}
        )
        token = ok(login, "auth.token_login")["token"]
        assert edge.raw.get("/api/v1/users", headers={"X-Edge-Token": token}).is_success
        bearer = edge.raw.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"})
        message(bearer, 401)
        assert auth_headers(edge.tenant, "abc") == {"X-Edge-Token": "abc"}


def test_saml_login_answers_an_init_session_without_token(edge: Edge) -> None:
    body = ok(edge.raw.get("/api/v1/login", params={"account": "acme"}), "auth.login")
    assert body["status"] == 1  # INIT: the identity provider would take over from here
    assert body["token"] == ""
    assert body["account_name"] == "acme"
    message(edge.raw.get("/api/v1/login", params={"account": "globex"}), 403)
    assert edge.tenant.logins == 0


def test_read_only_key_refuses_writes_only(edge: Edge) -> None:
    edge.tenant.read_only = True
    assert edge.http.get("/api/v1/users").status_code == 200
    lookup = edge.http.post("/api/v1/devices/ex-devices-1/lookup", json={})
    assert lookup.status_code == 200  # a POST that only reads
    patch = edge.http.patch("/api/v1/users/ex-users-1", json={"user": {"status": 3}})
    assert "read-only" in message(patch, 403)
    assert edge.http.get("/api/v1/users/ex-users-1").json()["status"] == 2
    edge.tenant.read_only = False
    assert edge.http.patch("/api/v1/users/ex-users-1", json={"user": {"status": 3}}).is_success


def test_examples_accounts_can_log_in(edge: Edge) -> None:
    ok(_login(edge.raw, account="ex-auth-1"), "auth.token_login")
    assert "ex-auth-1" in edge.tenant.accounts


def test_a_temporary_token_secret_logs_in_once_as_its_user(edge: Edge) -> None:
    body = {"user_uuid": "ex-users-1", "ttl_sec": 600}
    secret = edge.http.post("/api/v1/tokens/temporary_access", json=body).json()["secret"]
    login = ok(_login(edge.raw, key=secret), "auth.token_login")
    assert login["user_uuid"] == "ex-users-1"
    assert _claims(login["token"])["sub"] == "ex-users-1"
    assert "used up" in message(_login(edge.raw, key=secret), 403)


def test_an_api_token_secret_expires_on_the_clock(edge: Edge) -> None:
    created = edge.http.post("/api/v1/tokens", json={"name": "ci"}).json()
    assert created["expire_time_sec"] == 0
    for _ in range(2):  # no ttl: not a one-use token
        ok(_login(edge.raw, key=created["secret"]), "auth.token_login")
    short = edge.http.post("/api/v1/tokens", json={"name": "short", "ttl_sec": 60}).json()
    edge.clock.advance(60)
    message(_login(edge.raw, key=short["secret"]), 403)


def test_over_loopback_a_dropped_connection_is_a_protocol_error() -> None:
    state, _ = make_state()
    app = create_lacework_edge_app(state)
    with start_server(app) as server, httpx.Client(base_url=server.base_url) as http:
        token = ok(_login(http), "auth.token_login")["token"]
        headers = {"Authorization": f"Bearer {token}"}
        state.lacework_edge.faults.push({"drop": True})
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/api/v1/users", headers=headers)
        assert http.get("/api/v1/users/ex-users-1", headers=headers).status_code == 200
