"""A write a worker reports in doubt stops the coordinator's run in doubt (exit 11),
exactly as if the coordinator itself had stopped there; a resume settles it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from soarpack import errors, exitcodes
from soarpack.engine import ActionResult, Engine
from soarpack.pack import Pack
from soarpack.playbook import resume_run, run_playbook
from soarpack.sandbox import SandboxState, create_lacework_edge_app
from tests.workers.conftest import lacework_engine

SUSPEND = "lacework_edge.users.suspend"
BOOK = """
name: doubtful
description: Suspends users; one answer is lost by a worker.
inputs:
  type: object
  required: [ids]
  properties: {ids: {type: array, items: {type: string}}}
steps:
  - id: each
    action: lacework_edge.users.suspend
    for_each: "${{ inputs.ids }}"
    concurrency: 2
    approval: none
    with: {user_uuid: "${{ item }}"}
    outputs: {status: "${{ result.status_name }}"}
outputs:
  statuses: "${{ steps.each.outputs.status }}"
"""


class LosesOneAnswer(Engine):
    """An executor (like CeleryEngine) whose worker died before it sent one user's
    change and could not tell: it reports that item in doubt, once."""

    def __init__(self, *args: Any, lost: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lost: str | None = lost

    def invoke(
        self,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        deadline: float | None = None,
        dry_run: bool = False,
        approval: Mapping[str, Any] | None = None,
    ) -> ActionResult:
        if action == SUSPEND and inputs and inputs.get("user_uuid") == self.lost:
            self.lost = None
            raise errors.InDoubtError("task-1", [action])
        return super().invoke(action, inputs, deadline=deadline, dry_run=dry_run)


@pytest.fixture
def engine(pack: Pack, tenant: SandboxState) -> Iterator[LosesOneAnswer]:
    users = [u["uuid"] for u in tenant_users(tenant)]
    with lacework_engine(pack, tenant, LosesOneAnswer, lost=users[1]) as found:
        yield found


def tenant_users(tenant: SandboxState) -> list[dict[str, Any]]:
    create_lacework_edge_app(tenant)  # seeds the tenant's records
    api_user = tenant.lacework_edge.api_user_uuid
    return [
        u for u in tenant.lacework_edge.store("users") if u["uuid"] != api_user and u["status"] == 2
    ]


def test_an_item_in_doubt_stops_the_run_in_doubt_and_a_resume_verifies_it(
    engine: LosesOneAnswer, tenant: SandboxState, tmp_path: Path
) -> None:
    ids = [u["uuid"] for u in tenant_users(tenant)][:3]
    path = tmp_path / "doubtful.yaml"
    path.write_text(BOOK, encoding="utf-8")
    first = run_playbook(path, {"ids": ids}, engine=engine, runs_dir_path=tmp_path / "runs")
    assert first.status == "in_doubt"
    assert first.exit_code == exitcodes.IN_DOUBT == 11
    assert isinstance(first.error, errors.InDoubtError)
    assert first.error.steps == ["each[1]"] and first.error.run_id == first.run_id
    # The other items went on; the loop stays open for the one in doubt.
    assert first.steps["each"]["status"] == "running"
    assert first.steps["each"]["items"] == {"succeeded": 2, "in_doubt": 1}

    # The action declares `verify`: the resume reads the user, finds the change was not
    # applied, and sends it (once).
    again = resume_run(first.run_id, engine=engine, runs_dir_path=tmp_path / "runs")
    assert again.status == "succeeded", again.to_dict()
    assert again.outputs == {"statuses": ["SUSPENDED"] * 3}
    updates = [
        e for e in tenant.logged_requests() if e.get("action") == "lacework_edge.users.update"
    ]
    assert sorted(e["path"].rsplit("/", 1)[-1] for e in updates) == sorted(ids)
