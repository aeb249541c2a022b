"""`soarpack run / approve / runs / validate PLAYBOOK` over real loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from soarpack.cli.main import main
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import LACEWORK_EDGE_PREFIX
from tests.conftest import CANARY

BOOK = """
name: suspend-one
description: read a user, suspend them after an approval
inputs:
  type: object
  required: [user]
  properties:
    user: {type: string}
steps:
  - id: user
    action: lacework_edge.users.get
    with: {uuid: "${{ inputs.user }}"}
    outputs: {status: "${{ result.status_name }}"}
  - id: suspend
    action: lacework_edge.users.suspend
    with: {user_uuid: "${{ inputs.user }}"}
    approval: {prompt: "Suspend ${{ inputs.user }}?"}
outputs:
  before: ${{ steps.user.outputs.status }}
  after: ${{ steps.suspend.result.status_name }}
"""


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[SandboxState]:
    state = SandboxState(token=CANARY)
    with start_server(create_sandbox_app(state)) as server:
        monkeypatch.setenv(
            "SOARPACK_LACEWORK_EDGE_BASE_URL", server.base_url + LACEWORK_EDGE_PREFIX
        )
        monkeypatch.setenv("SOARPACK_LACEWORK_EDGE_API_KEY", CANARY)
        monkeypatch.setenv("SOARPACK_LACEWORK_EDGE_ACCOUNT", "acme")
        monkeypatch.setenv("SOARPACK_RUNS_DIR", str(tmp_path / "runs"))
        yield state


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert CANARY not in out and CANARY not in err
    assert "Traceback" not in err
    return code, out, err


def _book(tmp_path: Path, text: str = BOOK) -> str:
    path = tmp_path / "suspend-one.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_run_waits_approve_resume_then_runs_show(
    tenant: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = _book(tmp_path)
    code, out, err = run(capsys, "run", book, "--input", "user=ex-users-1")
    assert code == 10
    run_id = out.split()[1]
    assert f"approve: soarpack approve {run_id} suspend --by NAME" in out
    assert "-> user" in err and "WAITING   suspend  Suspend ex-users-1?" in err

    code, out, _ = run(capsys, "runs", "list")
    assert code == 0 and run_id in out and "waiting" in out

    code, out, _ = run(capsys, "approve", run_id, "suspend", "--by", "alice")
    assert code == 0 and f"soarpack run --resume {run_id}" in out

    code, out, _ = run(capsys, "run", "--resume", run_id, "--json")
    result = json.loads(out)
    assert code == 0 and result["status"] == "succeeded"
    assert result["outputs"] == {"before": "ACTIVE", "after": "SUSPENDED"}

    code, out, _ = run(capsys, "runs", "show", run_id, "--json")
    shown = json.loads(out)
    assert shown["status"] == "succeeded" and shown["steps"]["suspend"]["by"] == "alice"


def test_reject_fails_the_run_with_exit_code_12(
    tenant: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "run", _book(tmp_path), "--input", "user=ex-users-1", "--json")
    run_id = json.loads(out)["run_id"]
    run(capsys, "approve", run_id, "suspend", "--by", "bob", "--reject", "--reason", "not them")
    code, out, err = run(capsys, "run", "--resume", run_id)
    assert code == 12
    assert "rejected by bob: not them" in out + err


def test_dry_run_lists_the_change_and_sends_nothing(
    tenant: SandboxState, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(
        capsys, "run", _book(tmp_path), "--input", "user=ex-users-1", "--dry-run", "--json"
    )
    result = json.loads(out)
    assert code == 0 and result["dry_run"] is True
    [change] = result["changes"]
    assert change["step"] == "suspend" and change["request"]["method"] in ("PATCH", "PUT", "POST")
    code, out, _ = run(
        capsys, "invoke", "lacework_edge.users.get", "--input", '{"uuid": "ex-users-1"}'
    )
    assert json.loads(out)["data"]["status_name"] == "ACTIVE"


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        pytest.param(["run", "{book}"], 3, "/user: is required", id="missing-input"),
        pytest.param(["run"], 3, "name a playbook", id="no-playbook"),
        pytest.param(["run", "--resume", "nope"], 4, "No run nope", id="unknown-run"),
        pytest.param(["approve", "nope", "x", "--by", "a"], 4, "No run nope", id="approve-unknown"),
        pytest.param(["run", "no-such-playbook"], 4, "cannot read", id="unknown-playbook"),
    ],
)
def test_errors_are_rendered_with_their_exit_codes(
    tenant: SandboxState,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    text: str,
) -> None:
    book = _book(tmp_path)
    got, _out, err = run(capsys, *[a.replace("{book}", book) for a in argv])
    assert got == code and text in err


def test_validate_playbook_prints_file_line_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = _book(tmp_path, BOOK.replace("lacework_edge.users.get", "lacework_edge.users.gett"))
    code, out, _ = run(capsys, "validate", bad)
    assert code == 4
    assert f"{bad}:11: step user: action: unknown action 'lacework_edge.users.gett'" in out
    code, out, _ = run(capsys, "validate", _book(tmp_path), "--json")
    assert code == 0 and json.loads(out) == {"ok": True, "problems": [], "warnings": []}


def test_validate_playbook_prints_warnings_and_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    retried = BOOK.replace(
        '    approval: {prompt: "Suspend ${{ inputs.user }}?"}\n',
        '    approval: {prompt: "Suspend ${{ inputs.user }}?"}\n'
        "    retry: {errors: [VendorError, NotFoundError, ServerError]}\n",
    )
    book = _book(tmp_path, retried)
    code, out, _ = run(capsys, "validate", book)
    assert code == 0
    assert (
        f"{book}:18: warning: step suspend: retry.errors: VendorError never lets this "
        "destructive step be sent again"
    ) in out
    # Lacework Edge obtains its token by an exchange, whose failures (a 404 among them)
    # are proven unprocessed: NotFoundError may let the step go again.
    assert "NotFoundError" not in out
    assert "ServerError" not in out and "1 playbook(s) valid" in out
    code, out, _ = run(capsys, "validate", book, "--json")
    answer = json.loads(out)
    assert code == 0 and answer["ok"] is True and answer["problems"] == []
    assert [w["step"] for w in answer["warnings"]] == ["suspend"]
