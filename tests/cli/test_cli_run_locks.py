"""`soarpack run --resume` and `approve` against a second driver, a repeated or
conflicting decision, a finished run, and `--mark-done` misuse: each with its exit code."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from soarpack.sandbox import SandboxState
from tests.cli.test_cli_playbooks import _book, run, tenant
from tests.playbook.test_run_locks import held_by_another_process

__all__ = ["tenant"]  # the fixture, used by name


def _waiting(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    code, out, _ = run(capsys, "run", _book(tmp_path), "--input", "user=ex-users-1", "--json")
    assert code == 10
    return str(json.loads(out)["run_id"])


def test_a_second_driver_exits_13_naming_the_pid_and_an_approval_still_lands(
    tenant: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _waiting(capsys, tmp_path)
    with held_by_another_process(tmp_path / "runs" / run_id / "lock") as pid:
        code, _, err = run(capsys, "run", "--resume", run_id)
        assert code == 13
        assert f"run {run_id} is being driven by pid {pid}." in err
        code, out, _ = run(capsys, "approve", run_id, "suspend", "--by", "alice")
        assert code == 0 and "suspend approved by alice" in out
    assert [e for e in tenant.logged_requests() if e["method"] == "PATCH"] == []
    code, _, _ = run(capsys, "run", "--resume", run_id)
    assert code == 0
    code, _, err = run(capsys, "run", "--resume", run_id)
    assert code == 4 and "already finished (succeeded); nothing to resume" in err


def test_a_repeated_decision_changes_nothing_and_a_conflicting_one_exits_14(
    tenant: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _waiting(capsys, tmp_path)
    assert run(capsys, "approve", run_id, "suspend", "--by", "alice")[0] == 0
    code, out, _ = run(capsys, "approve", run_id, "suspend", "--by", "alice")
    assert code == 0 and "already recorded at" in out and "nothing added" in out
    code, _, err = run(capsys, "approve", run_id, "suspend", "--by", "bob", "--reject")
    assert code == 14 and "was already approved by alice at" in err


def test_mark_done_needs_resume_and_a_step_in_doubt(
    tenant: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _waiting(capsys, tmp_path)
    code, _, err = run(capsys, "run", "--mark-done", "suspend", "--by", "a", "--reason", "b")
    assert code == 3 and "need --resume RUN" in err
    code, _, err = run(
        capsys, "run", "--resume", run_id, "--mark-done", "suspend", "--by", "a", "--reason", "b"
    )
    assert code == 4 and "Step 'suspend' of run" in err and "not in doubt (it is waiting)" in err


def test_who_or_why_that_is_not_utf8_exits_3_naming_the_field_and_records_nothing(
    tenant: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = _waiting(capsys, tmp_path)
    journal = tmp_path / "runs" / run_id / "journal.jsonl"
    before = journal.read_bytes()
    # os.fsdecode: how Python hands a non-UTF-8 byte of argv to the program.
    not_utf8 = os.fsdecode(b"alice\xff")
    code, _, err = run(capsys, "approve", run_id, "suspend", "--by", not_utf8)
    assert code == 3 and "/by" in err and "cannot be encoded as UTF-8" in err
    code, _, err = run(
        capsys, "approve", run_id, "suspend", "--by", "bob", "--reject", "--reason", not_utf8
    )
    assert code == 3 and "/reason" in err
    code, _, err = run(
        capsys,
        "run",
        "--resume",
        run_id,
        "--mark-done",
        "suspend",
        "--by",
        not_utf8,
        "--reason",
        "b",
    )
    assert code == 3 and "/by" in err
    assert journal.read_bytes() == before
    assert [e for e in tenant.logged_requests() if e["method"] == "PATCH"] == []
