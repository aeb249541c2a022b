"""A real `kill -9` of `soarpack run` mid-run, then `--resume`: nothing is sent twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soarpack.playbook.history import list_runs
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import LACEWORK_EDGE_PREFIX
from tests.conftest import CANARY, REPO

BOOK = """
name: kill-me
description: suspend a user, then a slow read during which the process is killed
steps:
  - id: suspend
    action: lacework_edge.users.suspend
    with: {user_uuid: ex-users-1}
    approval: none
  - id: devices
    action: lacework_edge.users.devices
    with: {uuid: ex-users-1}
  - id: again
    action: lacework_edge.users.get
    with: {uuid: ex-users-1}
    outputs: {status: "${{ result.status_name }}"}
outputs:
  status: ${{ steps.again.outputs.status }}
"""


def _wait_for(journal: Path, kind: str, step: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        if journal.is_file():
            for line in journal.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event.get("ev") == kind and event.get("step") == step:
                    return
        time.sleep(0.05)
    raise AssertionError(f"the journal never got {kind} {step}")


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_sends_the_suspension_once(tmp_path: Path) -> None:
    state = SandboxState(token=CANARY)
    state.lacework_edge.faults.push({"delay": 6}, match="users.devices")
    book = tmp_path / "kill-me.yaml"
    book.write_text(BOOK, encoding="utf-8")
    runs = tmp_path / "runs"
    with start_server(create_sandbox_app(state)) as server:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(tmp_path),
            "SOARPACK_RUNS_DIR": str(runs),
            "SOARPACK_LACEWORK_EDGE_BASE_URL": server.base_url + LACEWORK_EDGE_PREFIX,
            "SOARPACK_LACEWORK_EDGE_API_KEY": CANARY,
            "SOARPACK_LACEWORK_EDGE_ACCOUNT": "acme",
        }
        command = [sys.executable, "-m", "soarpack", "run", str(book), "--quiet"]
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 30
            while not runs.is_dir() or not any(runs.iterdir()):
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
            [folder] = list(runs.iterdir())
            # A write's outcome is flushed at once (a read's progress may sit in the
            # process's buffer): after it, the run is inside the 6-second read.
            _wait_for(folder / "journal.jsonl", "succeeded", "suspend", deadline)
            time.sleep(0.5)
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        assert list_runs(runs)[0]["status"] == "interrupted"
        assert list_runs(runs)[0]["resume"] == f"soarpack run --resume {folder.name}"

        resumed = subprocess.run(
            [sys.executable, "-m", "soarpack", "run", "--resume", folder.name, "--json", "--quiet"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "succeeded" and result["outputs"] == {"status": "SUSPENDED"}
    updates = [
        e for e in state.logged_requests() if str(e.get("action", "")).endswith("users.update")
    ]
    assert len(updates) == 1  # the suspension was sent once, before the kill
    assert CANARY not in (folder / "journal.jsonl").read_text(encoding="utf-8")
