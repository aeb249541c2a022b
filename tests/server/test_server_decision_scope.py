"""Deciding over HTTP: a sub-playbook's step (`contain/suspend`, a slash in the path),
an approver key held to the playbooks its patterns match, and a hostile step name
quoted briefly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from soarpack import errors
from soarpack.pack import Pack
from soarpack.playbook.journal import read_events
from soarpack.sandbox import SandboxState
from tests.server.conftest import Api, ApiFactory
from tests.server.test_server_run_races import unsuspended
from tests.server.test_server_runs import error_of, patches, start

__all__ = ["unsuspended"]  # the fixture (autouse): the suspended user is put back

CHILD = """
name: suspend-one
description: suspend one Lacework Edge user once a person approves
inputs: {type: object, required: [user], properties: {user: {type: string, minLength: 1}}}
steps:
  - id: suspend
    action: lacework_edge.users.suspend
    with: {user_uuid: "${{ inputs.user }}"}
    approval: {prompt: "Suspend ${{ inputs.user }}?"}
    outputs: {status_name: "${{ result.status_name }}"}
outputs:
  status_name: ${{ steps.suspend.outputs.status_name }}
"""

PARENT = """
name: team-suspend
description: a team's playbook whose sub-playbook's step waits for a person
inputs: {type: object, required: [user], properties: {user: {type: string, minLength: 1}}}
steps:
  - id: contain
    playbook: suspend-one
    with: {user: "${{ inputs.user }}"}
    outputs: {status_name: "${{ result.status_name }}"}
outputs:
  status_name: ${{ steps.contain.outputs.status_name }}
"""

DECISION = {"approve": True, "by": "carol"}
MARK = {"by": "carol", "reason": "looked on the tenant"}


@pytest.fixture
def team_api(make_api: ApiFactory, pack_copy: Path) -> Api:
    """The server on a copy of the pack that also holds the team's two playbooks."""
    (pack_copy / "playbooks" / "suspend-one.yaml").write_text(CHILD, encoding="utf-8")
    (pack_copy / "playbooks" / "team-suspend.yaml").write_text(PARENT, encoding="utf-8")
    return make_api(with_pack=Pack.load(pack_copy), action_timeout=10)


def _start_team_run(api: Api) -> str:
    with api.client("operator") as client:
        started = client.post(
            "/playbooks/team-suspend/runs", json={"inputs": {"user": "ex-users-1"}}
        )
    assert started.status_code == 202, started.text
    run_id = str(started.json()["run_id"])
    assert api.wait_for_run(run_id, "waiting", "failed")["status"] == "waiting"
    return run_id


def _people(api: Api, run_id: str) -> list[dict[str, Any]]:
    """The journal's decisions and marks: what a person added."""
    events = read_events(api.runs / run_id / "journal.jsonl")
    return [e for e in events if e["ev"] in ("approved", "rejected", "marked_done")]


def test_a_sub_playbook_step_is_approved_over_http_and_the_run_finishes(
    team_api: Api, tenant: SandboxState
) -> None:
    run_id = _start_team_run(team_api)
    shown = team_api.wait_for_run(run_id, "waiting")
    assert shown["steps"]["contain/suspend"]["last_event"] == "approval_requested"
    with team_api.client("team-approver") as client:
        # A trailing slash names no step: our 404, never a redirect, nothing recorded.
        slash = client.post(f"/runs/{run_id}/approvals/contain/suspend/", json=DECISION)
        assert slash.status_code == 404 and "location" not in slash.headers
        assert _people(team_api, run_id) == []
        decided = client.post(f"/runs/{run_id}/approvals/contain/suspend", json=DECISION)
        assert decided.status_code == 200, decided.text
        assert decided.json()["step"] == "contain/suspend"
        assert decided.json()["by"] == "carol (API key team-approver)"
        # The slash sent encoded names the same step: the decision already recorded.
        again = client.post(f"/runs/{run_id}/approvals/contain%2Fsuspend", json=DECISION)
        assert again.status_code == 200 and again.json()["already_recorded"] is True
    done = team_api.wait_for_run(run_id, "succeeded", "failed")
    assert done["status"] == "succeeded"
    [finished] = [e for e in done["events"] if e["ev"] == "run_finished"]
    assert finished["outputs"] == {"status_name": "SUSPENDED"}
    [patch] = patches(tenant)
    assert "ex-users-1" in patch["path"]
    [recorded] = _people(team_api, run_id)
    assert (recorded["ev"], recorded["step"]) == ("approved", "contain/suspend")


def test_mark_done_parses_a_sub_playbook_step_before_its_suffix(team_api: Api) -> None:
    run_id = _start_team_run(team_api)
    with team_api.client("team-approver") as client:
        marked = client.post(f"/runs/{run_id}/steps/contain/suspend/mark-done", json=MARK)
        trailing = client.post(f"/runs/{run_id}/steps/contain/suspend/mark-done/", json=MARK)
    # The step is `contain/suspend` (it waits, so it is not in doubt), not `contain/...`.
    assert marked.status_code == 409
    assert "Step 'contain/suspend' of run" in error_of(marked)["message"]
    assert "not in doubt (it is waiting)" in error_of(marked)["message"]
    assert trailing.status_code == 404
    assert _people(team_api, run_id) == []


def test_an_approver_key_decides_only_runs_of_the_playbooks_it_matches(
    team_api: Api, tenant: SandboxState
) -> None:
    started = start(team_api)  # cross-vendor-response: not one of the team's
    run_id = str(started.json()["run_id"])
    assert team_api.wait_for_run(run_id, "waiting")["status"] == "waiting"
    with team_api.client("team-approver") as client:
        decided = client.post(f"/runs/{run_id}/approvals/suspend", json=DECISION)
        marked = client.post(f"/runs/{run_id}/steps/suspend/mark-done", json=MARK)
        seen = client.get(f"/runs/{run_id}")
    assert decided.status_code == 403
    assert error_of(decided)["message"] == (
        "This API key may not decide approvals in runs of the cross-vendor-response playbook."
    )
    assert marked.status_code == 403
    assert error_of(marked)["message"] == (
        "This API key may not settle steps in runs of the cross-vendor-response playbook."
    )
    assert seen.status_code == 403 and "cross-vendor-response" in error_of(seen)["message"]
    assert _people(team_api, run_id) == []
    shown = team_api.wait_for_run(run_id, "waiting")
    assert shown["steps"]["suspend"]["last_event"] == "approval_requested"
    assert patches(tenant) == []


def test_a_5000_character_step_is_quoted_briefly_in_the_404_and_409s(team_api: Api) -> None:
    run_id = _start_team_run(team_api)
    step = "s" * 5000
    with team_api.client("team-approver") as client:
        not_waiting = client.post(f"/runs/{run_id}/approvals/{step}", json=DECISION)
        not_in_doubt = client.post(f"/runs/{run_id}/steps/{step}/mark-done", json=MARK)
        trailing = client.post(f"/runs/{run_id}/approvals/{step}/", json=DECISION)
    for answer, status in ((not_waiting, 409), (not_in_doubt, 409), (trailing, 404)):
        assert answer.status_code == status
        message = error_of(answer)["message"]
        assert len(message) < 300, message
    assert "Step 'sssss" in error_of(not_waiting)["message"]
    assert "not waiting for an approval" in error_of(not_waiting)["message"]
    assert "not in doubt" in error_of(not_in_doubt)["message"]
    assert _people(team_api, run_id) == []


def test_a_decision_conflict_quotes_a_long_step_briefly() -> None:
    conflict = errors.DecisionConflict("r1", "s" * 5000, "approved", "alice", None)
    assert len(str(conflict)) < 300
    assert str(conflict).startswith("Step 'sss") and "was already approved by alice" in str(
        conflict
    )
    assert conflict.step == "s" * 5000  # the attribute keeps the whole value


def test_the_openapi_document_says_how_a_sub_playbook_step_is_sent(api: Api) -> None:
    # A key that may decide: the document lists only what the caller's key may use.
    with api.client("operator") as client:
        paths = client.get("/openapi.json").json()["paths"]
    for path in ("/runs/{run_id}/approvals/{step}", "/runs/{run_id}/steps/{step}/mark-done"):
        [step] = [p for p in paths[path]["post"]["parameters"] if p["name"] == "step"]
        assert "PARENT/STEP (e.g. `sub/remove`)" in step["description"]
