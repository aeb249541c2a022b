"""Constants and small helpers shared by the sandbox tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from soarpack.sandbox import SandboxState
from soarpack.sandbox.netskope.events import record_position

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


# --- REST v2 ------------------------------------------------------------------------

V2_TOKEN = "sandbox-v2-token-9876543210"
V2_HEADERS = {"Netskope-Api-Token": V2_TOKEN}
# Small streams and pages keep most v2 tests to a few milliseconds each.
V2_SMALL: dict[str, Any] = {
    "client_count": 20,
    "alert_count": 20,
    "v2_token": V2_TOKEN,
    "events_per_type": 25,
    "page_size": 10,
    "v2_rate_limit": False,
    "clientstatus_events": 90,
}


def export(
    http: httpx.Client, kind: str = "events/page", operation: str = "next", index: str = "demo"
) -> httpx.Response:
    """GET a data-export iterator page of stream `kind` ("events/page", "alerts/dlp", ...)."""
    return http.get(
        f"/api/v2/events/dataexport/{kind}", params={"index": index, "operation": operation}
    )


def page(response: httpx.Response) -> tuple[list[int], int]:
    """The record positions and wait_time of a successful data-export answer."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"ok", "result", "wait_time"}
    assert body["ok"] == 1
    return [record_position(r["_id"]) for r in body["result"]], body["wait_time"]


def v2_error(response: httpx.Response, status: int) -> str:
    """The message of a v2 `{"ok": 0, "message": ...}` refusal with `status`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["ok"] == 0
    assert set(body) == {"ok", "message"}
    message: str = body["message"]
    return message


def overlapped(
    state: SandboxState,
    slow: Callable[[], httpx.Response],
    quick: Callable[[], httpx.Response],
    delay: float = 0.2,
) -> tuple[httpx.Response, httpx.Response]:
    """Run `slow` held up by a delay fault, and `quick` while it is still being answered.

    The v2 pipeline takes a fault only once the request holds its resource, so an
    emptied fault queue means `slow` is in flight: `quick` then overlaps it for sure.
    """
    state.faults.push({"delay": delay})
    with ThreadPoolExecutor(max_workers=1) as pool:
        lingering = pool.submit(slow)
        deadline = time.monotonic() + 5
        while state.faults.pending():
            assert time.monotonic() < deadline, "the slow request never started"
            time.sleep(0.002)
        second = quick()
        return lingering.result(timeout=5), second
