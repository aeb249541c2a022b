"""The access log says who did what, and nothing secret; no response carries a secret."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from soarpack.sandbox import SandboxState
from tests.conftest import CANARY
from tests.server.conftest import SECRETS, Api

ALERTS = "netskope.alerts.list"
# A value only a request body carries: it must not reach the log.
BODY_MARK = "body-only-marker-5e1d"


def lines(caplog: pytest.LogCaptureFixture, at_least: int = 1) -> list[dict[str, Any]]:
    """The access log lines so far. A line is written once its response is sent, so the
    last one may land just after the client has the answer: wait for it, briefly."""
    deadline = time.monotonic() + 5
    while True:
        found = [
            json.loads(r.getMessage()) for r in caplog.records if r.name == "soarpack.server.access"
        ]
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_one_line_per_request_with_route_key_and_status_but_no_secrets(
    api: Api, tenant: SandboxState, access_log: pytest.LogCaptureFixture
) -> None:
    with api.client("reader", **{"X-Request-ID": "trace-1"}) as client:
        client.post(f"/actions/{ALERTS}?token={CANARY}", json={"limit": 1, "timeperiod": 86400})
        client.post(f"/actions/{ALERTS}", json={"limit": BODY_MARK})
        client.get("/healthz")
    with api.client(key=None) as client:
        client.get("/actions")
    logged = lines(access_log, 4)
    assert [(line["route"], line["status"]) for line in logged] == [
        ("/actions/{name}", 200),
        ("/actions/{name}", 400),
        ("/healthz", 200),
        ("/actions", 401),
    ]
    first = logged[0]
    assert first["request_id"] == "trace-1"
    assert first["method"] == "POST"
    assert first["action"] == ALERTS
    assert first["key"] == "reader"
    assert first["duration_ms"] >= 0
    assert "key" not in logged[3]
    text = "\n".join(r.getMessage() for r in access_log.records)
    for secret in (CANARY, BODY_MARK, *SECRETS.values(), "token="):
        assert secret not in text


def test_run_lines_name_the_playbook_and_run(
    api: Api, tenant: SandboxState, access_log: pytest.LogCaptureFixture
) -> None:
    with api.client("operator") as client:
        started = client.post(
            "/playbooks/cross-vendor-response/runs",
            json={"inputs": {"lacework_user_uuid": "ex-users-1"}},
        )
    run_id = started.json()["run_id"]
    api.wait_for_run(run_id, "waiting")
    logged = lines(access_log, 2)
    [start_line] = [line for line in logged if line["route"] == "/playbooks/{name}/runs"]
    assert start_line["playbook"] == "cross-vendor-response"
    assert start_line["run_id"] == run_id
    assert start_line["status"] == 202
    followed = [line for line in logged if line is not start_line]
    assert {(line["route"], line["run_id"]) for line in followed} == {("/runs/{run_id}", run_id)}


def test_no_response_carries_a_configured_secret(api: Api, tenant: SandboxState) -> None:
    """The canary is every connection's credential; `seen` checks every response at teardown,
    this test makes sure there are responses of every kind to check."""
    tenant.faults.push({"status": 500})
    with api.client("operator") as client:
        for name in ("netskope.connection.test", "metaaccess.devices.status_changed"):
            client.get(f"/actions/{name}")
        client.post("/actions/netskope.connection.test", json={})
        client.post("/actions/netskope.connection.test", json={})
        client.post("/actions/metaaccess.devices.status_changed", json={"age": 86400, "limit": 5})
        client.post("/actions/lacework_edge.users.get", json={"uuid": "ex-users-1"})
        client.post(f"/actions/{ALERTS}", json={"limit": "x"})
        client.get("/openapi.json")
        client.get("/actions")
        run = client.post(
            "/playbooks/cross-vendor-response/runs",
            json={"inputs": {"lacework_user_uuid": "ex-users-1"}},
        )
    shown = api.wait_for_run(run.json()["run_id"], "waiting")
    assert shown["status"] == "waiting"
    assert len(api.seen.responses) >= 11
    assert {r.status_code for r in api.seen.responses} >= {200, 202, 400, 502}
    assert api.seen.leaks(CANARY) == []
