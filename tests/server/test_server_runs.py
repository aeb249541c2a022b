"""Playbook runs over HTTP: start, follow, approve, and the refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from soarpack.sandbox import SandboxState
from tests.server.conftest import Api, ApiFactory

PLAYBOOK = "cross-vendor-response"
INPUTS = {"lacework_user_uuid": "ex-users-1", "lacework_alert_uuid": "ex-alerts-1"}


def patches(state: SandboxState) -> list[dict[str, Any]]:
    """The changes sent to a user (the suspension is a PATCH of the Lacework Edge user)."""
    return [e for e in state.logged_requests() if e["method"] == "PATCH"]


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def start(api: Api, key: str = "operator", **body: Any) -> httpx.Response:
    with api.client(key) as client:
        return client.post(f"/playbooks/{PLAYBOOK}/runs", json={"inputs": INPUTS, **body})


def test_a_run_waits_for_approval_then_is_approved_over_http_and_finishes(
    api: Api, tenant: SandboxState
) -> None:
    started = start(api)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    assert started.json()["links"] == {"run": f"/runs/{run_id}"}
    assert started.headers["Location"] == f"/runs/{run_id}"

    waiting = api.wait_for_run(run_id, "waiting", "failed", "succeeded")
    assert waiting["status"] == "waiting"
    assert waiting["steps"]["suspend"]["last_event"] == "approval_requested"
    assert patches(tenant) == []

    with api.client("operator") as client:
        decided = client.post(
            f"/runs/{run_id}/approvals/suspend",
            json={"approve": True, "by": "alice", "reason": "confirmed exfiltration"},
        )
    assert decided.status_code == 200, decided.text
    assert decided.json()["ev"] == "approved"
    assert decided.json()["by"] == "alice (API key operator)"

    finished = api.wait_for_run(run_id, "succeeded", "failed")
    assert finished["status"] == "succeeded"
    final = finished["events"][-1]
    assert final["ev"] == "run_finished"
    assert final["outputs"]["lacework_status_after"] != final["outputs"]["lacework_status_before"]
    assert final["outputs"]["alert_noted"] is True
    [suspension] = patches(tenant)
    assert suspension["path"].endswith("/api/v1/users/ex-users-1")


def test_a_rejection_fails_the_run_and_sends_nothing(api: Api, tenant: SandboxState) -> None:
    run_id = start(api).json()["run_id"]
    assert api.wait_for_run(run_id, "waiting")["status"] == "waiting"
    with api.client("operator") as client:
        decided = client.post(
            f"/runs/{run_id}/approvals/suspend", json={"approve": False, "by": "bob"}
        )
    assert decided.status_code == 200
    assert decided.json()["ev"] == "rejected"
    assert api.wait_for_run(run_id, "failed", "succeeded")["status"] == "failed"
    assert patches(tenant) == []


def test_deciding_needs_an_approve_key_and_a_waiting_step(api: Api) -> None:
    run_id = start(api).json()["run_id"]
    assert api.wait_for_run(run_id, "waiting")["status"] == "waiting"
    decision = {"approve": True, "by": "mallory"}
    with api.client("runner-no-approve") as client:
        not_allowed = client.post(f"/runs/{run_id}/approvals/suspend", json=decision)
    with api.client("operator") as client:
        not_waiting = client.post(f"/runs/{run_id}/approvals/lacework_user", json=decision)
        unknown_run = client.post(
            "/runs/20990101T000000000-abcdef/approvals/suspend", json=decision
        )
        bad_body = client.post(f"/runs/{run_id}/approvals/suspend", json={"approve": "yes"})
    assert not_allowed.status_code == 403
    assert "may not decide approvals" in error_of(not_allowed)["message"]
    assert not_waiting.status_code == 409
    assert error_of(not_waiting)["type"] == "RunStateError"
    assert unknown_run.status_code == 404
    assert bad_body.status_code == 400
    assert {p["pointer"] for p in error_of(bad_body)["errors"]} == {"/approve", "/by"}
    # Nothing of that was recorded: the step still waits.
    assert api.wait_for_run(run_id, "waiting")["steps"]["suspend"]["last_event"] == (
        "approval_requested"
    )


@pytest.mark.parametrize(
    ("key", "path", "body", "status", "says"),
    [
        pytest.param(
            "reader", f"/playbooks/{PLAYBOOK}/runs", {"inputs": INPUTS}, 403,
            "may not start", id="key without playbooks",
        ),
        pytest.param(
            "read-runner", f"/playbooks/{PLAYBOOK}/runs", {"inputs": INPUTS}, 403,
            "runs lacework_edge.users.suspend", id="read key, writing playbook",
        ),
        pytest.param(
            "operator", "/playbooks/no-such-book/runs", {}, 404, "Unknown playbook",
            id="unknown playbook",
        ),
        pytest.param(
            "operator", "/playbooks/..%2Fmanifest/runs", {}, 404, "",
            id="a path is not a name",
        ),
        pytest.param(
            "operator", f"/playbooks/{PLAYBOOK}/runs", {"inputs": {}}, 400,
            "lacework_user_uuid", id="missing input",
        ),
        pytest.param(
            "operator", f"/playbooks/{PLAYBOOK}/runs", {"inputs": [], "dry_run": "no", "x": 1},
            400, "", id="malformed body",
        ),
    ],
)  # fmt: skip
def test_run_refusals_come_before_the_run(
    api: Api, tenant: SandboxState, key: str, path: str, body: Any, status: int, says: str
) -> None:
    with api.client(key) as client:
        response = client.post(path, json=body)
    assert response.status_code == status, response.text
    assert says in response.text
    assert tenant.logged_requests() == []
    assert not api.runs.exists() or list(api.runs.iterdir()) == []


def test_runs_are_404_when_unknown_and_403_to_keys_without_playbooks(api: Api) -> None:
    run_id = start(api).json()["run_id"]
    with api.client("reader") as client:
        hidden = client.get(f"/runs/{run_id}")
    with api.client("operator") as client:
        unknown = client.get("/runs/20990101T000000000-abcdef")
        odd = client.get("/runs/..")
    assert hidden.status_code == 403
    assert unknown.status_code == 404
    assert odd.status_code == 404
    assert api.wait_for_run(run_id, "waiting")["status"] == "waiting"


def test_a_dry_run_sends_no_change(api: Api, tenant: SandboxState) -> None:
    run_id = start(api, dry_run=True).json()["run_id"]
    shown = api.wait_for_run(run_id, "waiting", "succeeded", "failed")
    assert shown["dry_run"] is True
    assert patches(tenant) == []


@pytest.mark.parametrize(
    ("grace", "fault", "left"),
    [
        pytest.param(10, None, False, id="paused within the grace"),
        pytest.param(0.2, {"delay": 1.5}, True, id="still going after it"),
    ],
)
def test_on_shutdown_runs_get_a_grace_period_to_pause(
    make_api: ApiFactory,
    tenant: SandboxState,
    grace: float,
    fault: dict[str, Any] | None,
    left: bool,
) -> None:
    api = make_api(shutdown_grace=grace)
    if fault:
        tenant.faults.push(fault)
    run_id = start(api).json()["run_id"]
    assert api.service.close() == ([run_id] if left else [])
    # Either way the run ends paused, waiting for its approval: resumable.
    assert api.wait_for_run(run_id, "waiting")["status"] == "waiting"
