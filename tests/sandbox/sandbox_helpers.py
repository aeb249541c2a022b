"""Constants and small helpers shared by the sandbox tests."""

from __future__ import annotations

from typing import Any

import httpx

TOKEN = "sandbox-token-0123456789"
NOW = 1_700_000_000
BASE_URL = "http://sandbox.test"


def call(http: httpx.Client, endpoint: str, **params: Any) -> httpx.Response:
    """POST to /api/v1/<endpoint> with the token and `params` in a JSON body."""
    return http.post(f"/api/v1/{endpoint}", json={"token": TOKEN, **params})


def data(response: httpx.Response) -> list[dict[str, Any]]:
    """The `data` list of a successful v1 answer (fails the test otherwise)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success", body
    records: list[dict[str, Any]] = body["data"]
    return records


def error(response: httpx.Response) -> str:
    """The message of a v1 error-in-a-200 answer (fails the test otherwise)."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "error", body
    assert body["errorCode"] == "General Error"
    message: str = body["errors"][0]
    return message
