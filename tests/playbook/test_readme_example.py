"""The README's playbook example is valid and runs on the sandbox as described."""

from __future__ import annotations

import re
from pathlib import Path

from soarpack.playbook import approve, resume_run, run_playbook, validate_playbook
from tests.conftest import REPO
from tests.playbook.conftest import Sandbox, write_playbook


def _example() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Playbooks") :]
    return re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1)  # type: ignore[union-attr]


def test_the_readme_example_validates_and_runs(sandbox: Sandbox, tmp_path: Path) -> None:
    path = write_playbook(tmp_path, _example(), "suspend-one")
    assert validate_playbook(path, sandbox.engine.pack) == []
    run = run_playbook(
        path, {"user": "ex-users-1"}, engine=sandbox.engine, runs_dir_path=sandbox.runs
    )
    assert run.status == "waiting" and run.waiting[0]["step"] == "suspend"
    approve(run.run_id, "suspend", by="alice", runs_dir_path=sandbox.runs)
    done = resume_run(run.run_id, engine=sandbox.engine, runs_dir_path=sandbox.runs)
    assert done.status == "succeeded", done.to_dict()
    assert done.outputs == {"suspended": True}
    assert done.steps["delete_devices"]["items"] == {"succeeded": 2}


def test_with_the_user_already_suspended_no_device_is_deleted(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    # The devices' `approval: none` leans on the suspension's approval: when that step is
    # skipped nobody approved anything, so nothing destructive may run.
    path = write_playbook(tmp_path, _example(), "suspend-one")
    sandbox.engine.invoke("lacework_edge.users.suspend", {"user_uuid": "ex-users-1"})
    sent = len(sandbox.state.logged_requests())
    run = run_playbook(
        path, {"user": "ex-users-1"}, engine=sandbox.engine, runs_dir_path=sandbox.runs
    )
    assert run.status == "succeeded", run.to_dict()
    assert run.outputs == {"suspended": False}
    assert run.steps["suspend"]["status"] == "skipped"
    methods = [e["method"] for e in sandbox.state.logged_requests()[sent:]]
    assert "DELETE" not in methods and "POST" not in methods, methods
