"""Queued one-shot faults, the admin endpoints that drive them, and the request log."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import pytest

from soarpack.sandbox import SandboxState
from soarpack.sandbox.shared.echo import echoed_forms
from soarpack.sandbox.shared.faults import FaultSwitches
from tests.sandbox.sandbox_helpers import TOKEN, call, data


def push(http: httpx.Client, fault: dict[str, Any], count: int = 1) -> None:
    response = http.post("/_sandbox/faults", json={"fault": fault, "count": count})
    assert response.status_code == 200, response.text


def test_429_carries_retry_after(client: httpx.Client) -> None:
    push(client, {"status": 429, "retry_after": 3})
    response = call(client, "clients")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {"message": "API rate limit exceeded"}


def test_429_retry_after_defaults_to_one_second(client: httpx.Client) -> None:
    push(client, {"status": 429})
    assert call(client, "clients").headers["Retry-After"] == "1"


def test_503_may_carry_retry_after(client: httpx.Client) -> None:
    push(client, {"status": 503, "retry_after": 2.5})
    response = call(client, "clients")
    assert (response.status_code, response.headers["Retry-After"]) == (503, "3")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors(client: httpx.Client, status: int) -> None:
    push(client, {"status": status})
    response = call(client, "alerts", timeperiod=3600)
    assert response.status_code == status
    assert "Retry-After" not in response.headers
    assert call(client, "alerts", timeperiod=3600).status_code == 200  # one-shot


def test_malformed_body_is_a_200_that_does_not_parse(client: httpx.Client) -> None:
    push(client, {"malformed": True})
    response = call(client, "clients")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_html_page_is_a_200_text_html(client: httpx.Client) -> None:
    push(client, {"html": True})
    response = call(client, "clients")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html>" in response.text


def test_delay_slows_the_answer_but_keeps_it(client: httpx.Client) -> None:
    push(client, {"delay": 0.3})
    started = time.monotonic()
    records = data(call(client, "clients", limit=2))
    assert time.monotonic() - started >= 0.3
    assert len(records) == 2


def test_delay_beyond_the_read_timeout_times_out(client: httpx.Client, state: SandboxState) -> None:
    push(client, {"delay": 5})
    with pytest.raises(httpx.ReadTimeout):
        client.post("/api/v1/clients", json={"token": state.token}, timeout=0.2)
    assert state.logged_requests()[-1]["status"] == 499
    assert len(data(call(client, "clients", limit=1))) == 1


def test_delay_combines_with_a_status(client: httpx.Client) -> None:
    push(client, {"delay": 0.1, "status": 503})
    started = time.monotonic()
    assert call(client, "clients").status_code == 503
    assert time.monotonic() - started >= 0.1


def test_echo_credential_quotes_back_the_token_in_every_form(
    client: httpx.Client, state: SandboxState
) -> None:
    push(client, {"echo_credential": True})
    response = call(client, "clients")
    assert response.status_code == 400
    message = response.json()["message"]
    forms = echoed_forms(TOKEN)
    assert message.splitlines()[0] == "request refused; credential received:"
    for name, form in forms.items():
        assert f"{name}: {form}" in message
    assert forms["html numeric entities"].count("&#45;") == TOKEN.count("-")
    assert forms["split across a line break"].replace("\r\n    ", "") == TOKEN
    assert state.faults.echoed == [TOKEN]
    assert call(client, "clients").status_code == 200  # one-shot, as every fault


def test_count_applies_a_fault_to_the_next_n_requests_in_order(client: httpx.Client) -> None:
    push(client, {"status": 502}, count=2)
    push(client, {"status": 429})
    statuses = [call(client, "clients").status_code for _ in range(4)]
    assert statuses == [502, 502, 429, 200]


def test_faults_come_before_the_token_check(client: httpx.Client) -> None:
    push(client, {"status": 503})
    assert client.post("/api/v1/clients", json={"token": "wrong"}).status_code == 503


def test_admin_endpoints_are_not_faulted(client: httpx.Client) -> None:
    push(client, {"status": 500})
    assert client.get("/_sandbox/requests").status_code == 200
    assert client.get("/_sandbox/faults").json()["pending"] == [{"status": 500}]


def test_faulted_requests_are_logged_with_their_status(
    client: httpx.Client, state: SandboxState
) -> None:
    push(client, {"status": 429, "retry_after": 2})
    call(client, "clients")
    call(client, "clients")
    log = client.get("/_sandbox/requests").json()["requests"]
    assert [(e["status"], e["fault"]) for e in log] == [
        (429, {"status": 429, "retry_after": 2}),
        (200, None),
    ]
    assert all(e["method"] == "POST" and e["path"] == "/api/v1/clients" for e in log)


def test_admin_clear_faults_and_requests(client: httpx.Client) -> None:
    push(client, {"status": 500}, count=3)
    assert client.delete("/_sandbox/faults").json() == {"status": "ok", "cleared": 3}
    assert call(client, "clients").status_code == 200
    assert client.delete("/_sandbox/requests").json() == {"status": "ok", "cleared": 1}
    assert client.get("/_sandbox/requests").json()["requests"] == []


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        pytest.param({"fault": {"status": 404}}, "status must be one of", id="status"),
        pytest.param({"fault": {"status": 500, "html": True}}, "only one of", id="two-outcomes"),
        pytest.param({"fault": {"explode": True}}, "unknown fault keys", id="unknown-key"),
        pytest.param({"fault": {}}, "needs one of", id="empty"),
        pytest.param({"fault": {"delay": -1}}, "between 0", id="negative-delay"),
        pytest.param({"fault": {"status": 500, "retry_after": 1}}, "only goes", id="retry-after"),
        pytest.param({"fault": {"status": 500}, "count": 0}, "positive integer", id="count"),
        pytest.param({"status": 500}, '{"fault"', id="not-wrapped"),
    ],
)
def test_admin_rejects_bad_faults(
    client: httpx.Client, payload: dict[str, Any], fragment: str
) -> None:
    response = client.post("/_sandbox/faults", json=payload)
    assert response.status_code == 400
    assert fragment in response.json()["error"]
    assert client.get("/_sandbox/faults").json()["pending"] == []


def test_fault_switches_are_thread_safe() -> None:
    switches = FaultSwitches()
    switches.push({"status": 500}, count=1000)
    taken: list[dict[str, Any]] = []
    lock = threading.Lock()

    def drain() -> None:
        while (fault := switches.take()) is not None:
            with lock:
                taken.append(fault)

    threads = [threading.Thread(target=drain) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(taken) == 1000
    assert switches.take() is None
