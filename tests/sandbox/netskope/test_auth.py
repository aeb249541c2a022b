"""Token checks: 403 by default, v1's error-in-a-200 when asked, and the token never logged."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from soarpack.sandbox import SandboxState
from tests.sandbox.sandbox_helpers import TOKEN

AUTH_ERROR = {
    "status": "error",
    "errorCode": "General Error",
    "errors": ["Invalid token. Check the REST API v1 token in Settings > Tools > REST API v1."],
}


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"json": {"token": "not-the-token"}}, id="wrong-token"),
        pytest.param({"json": {}}, id="missing-token"),
        pytest.param({"json": {"token": 12345}}, id="token-not-a-string"),
        pytest.param(
            {"params": {"token": TOKEN}, "json": {"token": "wrong"}}, id="body-wins-over-url"
        ),
    ],
)
@pytest.mark.parametrize("endpoint", ["clients", "alerts", "report"])
def test_bad_token_is_403(client: httpx.Client, endpoint: str, kwargs: dict[str, Any]) -> None:
    response = client.post(f"/api/v1/{endpoint}", **kwargs)
    assert response.status_code == 403
    assert response.json() == AUTH_ERROR


def test_token_is_checked_before_parameters(client: httpx.Client) -> None:
    response = client.post("/api/v1/alerts", json={"token": "wrong", "limit": -5})
    assert response.status_code == 403


def test_auth_failure_can_be_an_error_in_a_200(client: httpx.Client, state: SandboxState) -> None:
    state.auth_failure_status = 200
    response = client.post("/api/v1/clients", json={"token": "wrong"})
    assert response.status_code == 200
    assert response.json() == AUTH_ERROR


def test_request_log_masks_the_token(client: httpx.Client, state: SandboxState) -> None:
    client.post("/api/v1/clients", params={"token": TOKEN, "limit": "1"})
    client.post("/api/v1/clients", json={"token": TOKEN, "query": f"_id eq '{TOKEN}'"})
    client.post("/api/v1/clients", data={"token": "a-wrong-guess"})
    log = client.get("/_sandbox/requests").json()["requests"]
    assert [entry["status"] for entry in log] == [200, 200, 403]
    assert log[0]["query"] == {"token": "***", "limit": "1"}
    assert log[1]["body"] == {"token": "***", "query": "_id eq '***'"}
    assert log[2]["body"] == {"token": "***"}
    assert TOKEN not in str(state.logged_requests())
    assert "a-wrong-guess" not in str(log)
