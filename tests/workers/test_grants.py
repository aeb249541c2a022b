"""The approval record the runner hands to `Engine.invoke` with each destructive call
(what a Celery worker checks): here with a local engine that notes what it was given."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from soarpack.engine import ActionResult, Engine
from soarpack.pack import Pack
from soarpack.playbook import approve, resume_run, run_playbook
from soarpack.sandbox import SandboxState, create_lacework_edge_app
from tests.workers.conftest import lacework_engine

BOOK = """
name: granted
description: An approved suspension, one under it, a loop that says none is needed, a read.
inputs:
  type: object
  required: [ids]
  properties: {ids: {type: array, items: {type: string}}}
steps:
  - id: first
    action: lacework_edge.users.suspend
    approval: {prompt: "Suspend ${{ inputs.ids[0] }}?", timeout: 3600}
    with: {user_uuid: "${{ inputs.ids[0] }}"}
  - id: read
    needs: [first]
    action: lacework_edge.users.get
    with: {uuid: "${{ inputs.ids[0] }}"}
  - id: rest
    needs: [read]
    action: lacework_edge.users.suspend
    approval: none
    for_each: "${{ inputs.ids[1:] }}"
    with: {user_uuid: "${{ item }}"}
"""
LONE = """
name: lone
description: A destructive step that declares no approval is needed, with nothing above it.
inputs: {type: object, required: [id], properties: {id: {type: string}}}
steps:
  - id: only
    action: lacework_edge.users.suspend
    approval: none
    with: {user_uuid: "${{ inputs.id }}"}
"""


class NotesApprovals(Engine):
    """A local engine that keeps the approval record of each call it runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.given: list[tuple[str, Any]] = []

    def invoke(
        self,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        deadline: float | None = None,
        dry_run: bool = False,
        approval: Mapping[str, Any] | None = None,
    ) -> ActionResult:
        self.given.append((action, dict(approval) if approval is not None else None))
        return super().invoke(action, inputs, deadline=deadline, dry_run=dry_run)


@pytest.fixture
def engine(pack: Pack, tenant: SandboxState) -> Iterator[NotesApprovals]:
    with lacework_engine(pack, tenant, NotesApprovals) as found:
        yield found


def users(tenant: SandboxState, count: int) -> list[str]:
    create_lacework_edge_app(tenant)  # seeds the tenant's records
    api_user = tenant.lacework_edge.api_user_uuid
    store = tenant.lacework_edge.store("users")
    return [u["uuid"] for u in store if u["uuid"] != api_user and u["status"] == 2][:count]


def test_each_destructive_call_carries_what_allowed_it(
    engine: NotesApprovals, tenant: SandboxState, tmp_path: Path
) -> None:
    path = tmp_path / "granted.yaml"
    path.write_text(BOOK, encoding="utf-8")
    runs = tmp_path / "runs"
    ids = users(tenant, 3)
    paused = run_playbook(path, {"ids": ids}, engine=engine, runs_dir_path=runs)
    assert paused.status == "waiting" and engine.given == []
    approve(paused.run_id, "first", by="j.doe", runs_dir_path=runs)
    done = resume_run(paused.run_id, engine=engine, runs_dir_path=runs)
    assert done.status == "succeeded", done.to_dict()
    run = paused.run_id
    suspends = [a for name, a in engine.given if name == "lacework_edge.users.suspend"]
    assert suspends[0] == {"granted": "approval", "run": run, "step": "first", "approver": "j.doe"}
    under = {"granted": "approval: none", "run": run, "under": "first", "approver": "j.doe"}
    assert sorted(suspends[1:], key=lambda a: a["step"]) == [
        {**under, "step": "rest[0]"},
        {**under, "step": "rest[1]"},
    ]
    # A read carries none (nor does the verification read a resume may make).
    assert {a for name, a in engine.given if name == "lacework_edge.users.get"} == {None}


def test_approval_none_with_nothing_approved_above_says_just_that(
    engine: NotesApprovals, tenant: SandboxState, tmp_path: Path
) -> None:
    path = tmp_path / "lone.yaml"
    path.write_text(LONE, encoding="utf-8")
    [user] = users(tenant, 1)
    done = run_playbook(path, {"id": user}, engine=engine, runs_dir_path=tmp_path / "runs")
    assert done.status == "succeeded", done.to_dict()
    assert engine.given == [
        (
            "lacework_edge.users.suspend",
            {"granted": "approval: none", "run": done.run_id, "step": "only"},
        )
    ]
