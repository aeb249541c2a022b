"""Playbooks and destructive actions (issue 17, section 1): a step whose action can
suspend, delete or revoke needs an approval, whatever its verb, and a destructive step
whose targets resolve to nothing fails as bad input with nothing sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from soarpack import exitcodes
from soarpack.pack import Pack
from soarpack.playbook import run_playbook, validate_playbook
from tests.playbook.conftest import Sandbox, write_playbook

UNGATED = """
name: test-book
description: One step of {action}, with no approval.
steps:
  - id: change
    action: {action}
    with: {inputs}
"""


@pytest.mark.parametrize(
    ("action", "inputs"),
    [
        # The reproducer: status 3 suspends the user, and validate let it through.
        pytest.param(
            "lacework_edge.users.update", "{uuid: ex-users-1, user: {status: 3}}", id="users.update"
        ),
        pytest.param("lacework_edge.users.reactivate", "{user_uuid: ex-users-1}", id="reactivate"),
        pytest.param(
            "lacework_edge.alerts.run_workflow",
            "{alert_uuid: ex-alerts-1, workflow_uuid: ex-workflows-1}",
            id="run_workflow",
        ),
        pytest.param(
            "lacework_edge.tokens.update", "{uuid: ex-tokens-1, status: SUSPENDED}", id="tokens"
        ),
        pytest.param(
            "lacework_edge.policies.update", "{uuid: ex-policies-1}", id="policies.update"
        ),
    ],
)
def test_a_step_that_can_do_harm_needs_an_approval(
    action: str, inputs: str, pack: Pack, tmp_path: Path
) -> None:
    path = write_playbook(tmp_path, UNGATED.format(action=action, inputs=inputs))
    problems = validate_playbook(path, pack)
    assert [(p.step, p.field) for p in problems] == [("change", "action")], problems
    assert f"{action} is destructive" in problems[0].message


def test_the_narrow_write_needs_no_approval(pack: Pack, tmp_path: Path) -> None:
    inputs = "{uuid: ex-users-1, user: {display_name: Jane}}"
    text = UNGATED.format(action="lacework_edge.users.update_profile", inputs=inputs)
    assert validate_playbook(write_playbook(tmp_path, text), pack) == []


TARGETS_FROM_INPUTS = """
name: test-book
description: Deletes the devices it is given.
inputs:
  type: object
  required: [devices]
  properties: {devices: {type: array}}
steps:
  - id: delete
    action: lacework_edge.devices.delete
    with: {devices: "${{ inputs.devices }}"}
    approval: none
"""


@pytest.mark.parametrize(
    "devices",
    [
        pytest.param([], id="no-devices"),
        pytest.param([{"uuid": "", "user_uuid": "ex-users-1"}], id="empty-device-id"),
    ],
)
def test_a_destructive_step_without_targets_fails_as_bad_input_and_sends_nothing(
    sandbox: Sandbox, tmp_path: Path, devices: list[dict[str, str]]
) -> None:
    path = write_playbook(tmp_path, TARGETS_FROM_INPUTS)
    result = run_playbook(
        path, {"devices": devices}, engine=sandbox.engine, runs_dir_path=sandbox.runs
    )
    assert result.status == "failed"
    assert result.exit_code == exitcodes.BAD_INPUT
    assert result.failed_step is not None and result.failed_step["type"] == "InputError"
    assert "/devices" in str(result.failed_step)
    assert sandbox.state.logged_requests() == []


def test_a_literal_empty_target_is_caught_by_validate(pack: Pack, tmp_path: Path) -> None:
    text = UNGATED.format(action="lacework_edge.devices.delete", inputs="{devices: []}")
    text += "    approval: none\n"
    problems = validate_playbook(write_playbook(tmp_path, text), pack)
    assert any(p.step == "change" and "devices" in p.field + p.message for p in problems), problems
