"""Approvals pause a run (exit code 10), a decision is journaled, a resume goes on;
dry runs send no change and list what would have been sent."""

from __future__ import annotations

import pytest

from soarpack import errors
from soarpack.playbook import approve, resume_run, run_playbook
from soarpack.playbook.history import list_runs, show_run
from tests.playbook.conftest import Things
from tests.playbook.mockserver import TOKEN

BOOK = """
name: test-book
description: delete behind an approval, beside an independent read
steps:
  - id: read
    action: mock.things.get
    with: {id: a}
    outputs: {id: "${{ result.id }}"}
  - id: delete
    action: mock.things.delete
    with: {id: "${{ steps.read.outputs.id }}"}
    approval:
      prompt: Delete ${{ steps.read.outputs.id }}?
      timeout: 600
      on_timeout: {on_timeout}
  - id: other
    action: mock.service.echo
    needs: []
    with: {value: independent}
  - id: after
    action: mock.service.echo
    needs: [delete]
    with: {value: "${{ steps.delete.status }}"}
    outputs: {value: "${{ result.value }}"}
outputs:
  after: ${{ steps.after.outputs.value }}
"""


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _start(things: Things, on_timeout: str = "fail", clock: Clock | None = None):  # type: ignore[no-untyped-def]
    things.server.things["a"] = {"id": "a"}
    path = things.book(BOOK.replace("{on_timeout}", on_timeout))
    return run_playbook(
        path, engine=things.engine, runs_dir_path=things.runs, clock=clock or Clock()
    )


def test_an_approval_pauses_the_run_and_a_resume_after_approval_sends_once(things: Things) -> None:
    paused = _start(things)
    assert paused.status == "waiting" and paused.exit_code == 10
    assert paused.waiting == [
        {
            "step": "delete",
            "prompt": "Delete a?",
            "approve": f"soarpack approve {paused.run_id} delete --by NAME",
        }
    ]
    assert things.server.count("DELETE /things/a") == 0
    assert things.server.count("POST /echo") == 1  # the independent branch ran
    assert list_runs(things.runs)[0]["status"] == "waiting"

    approve(paused.run_id, "delete", by="alice", runs_dir_path=things.runs)
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == "succeeded" and done.outputs == {"after": "succeeded"}
    assert things.server.count("DELETE /things/a") == 1
    shown = show_run(paused.run_id, things.runs)
    assert shown["steps"]["delete"]["by"] == "alice"
    assert [e["ev"] for e in shown["events"] if e.get("step") == "delete"] == [
        "approval_requested",
        "approved",
        "started",
        "succeeded",
    ]


def test_a_rejected_approval_fails_the_step_and_sends_nothing(things: Things) -> None:
    paused = _start(things)
    approve(
        paused.run_id,
        "delete",
        by="bob",
        approved=False,
        reason="wrong user",
        runs_dir_path=things.runs,
    )
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == "failed" and done.exit_code == 12
    assert done.steps["delete"]["error"]["type"] == "ApprovalRejected"
    assert "rejected by bob: wrong user" in done.steps["delete"]["error"]["message"]
    assert done.steps["after"]["status"] == "cancelled"
    assert things.server.count("DELETE /things/a") == 0


@pytest.mark.parametrize(
    ("on_timeout", "status", "delete_status"),
    [
        pytest.param("fail", "failed", "failed", id="fail"),
        pytest.param("skip", "succeeded", "skipped", id="skip"),
    ],
)
def test_an_approval_past_its_timeout_fails_or_skips(
    things: Things, on_timeout: str, status: str, delete_status: str
) -> None:
    clock = Clock()
    paused = _start(things, on_timeout, clock)
    clock.now += 601
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs, clock=clock)
    assert done.status == status
    assert done.steps["delete"]["status"] == delete_status
    assert things.server.count("DELETE /things/a") == 0
    if on_timeout == "fail":
        assert done.steps["delete"]["error"]["type"] == "ApprovalTimedOut"
        assert done.exit_code == 12


def test_a_resume_before_a_decision_keeps_waiting(things: Things) -> None:
    paused = _start(things)
    again = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert again.status == "waiting"
    assert things.server.count("DELETE /things/a") == 0


def test_approving_a_step_that_is_not_waiting_names_the_waiting_ones(things: Things) -> None:
    paused = _start(things)
    with pytest.raises(
        errors.RunStateError, match=r"Step 'read' .* not waiting .*\(waiting: delete\)"
    ):
        approve(paused.run_id, "read", by="alice", runs_dir_path=things.runs)
    with pytest.raises(errors.RunStateError, match="--by"):
        approve(paused.run_id, "delete", by=" ", runs_dir_path=things.runs)


def test_a_dry_run_runs_reads_sends_no_change_and_lists_it(things: Things) -> None:
    things.server.things["a"] = {"id": "a"}
    result = run_playbook(
        things.book(BOOK.replace("{on_timeout}", "fail")),
        engine=things.engine,
        runs_dir_path=things.runs,
        dry_run=True,
    )
    assert result.status == "succeeded" and result.dry_run
    assert things.server.log.count("GET /things/a") == 1
    assert "DELETE /things/a" not in things.server.log
    assert result.steps["delete"]["status"] == "dry_run"
    [change] = result.changes
    assert change["step"] == "delete"
    assert change["request"]["method"] == "DELETE"
    assert change["request"]["url"] == "https://things.example.test/things/a"
    assert change["request"]["approval"] == "would ask: Delete a?"
    assert TOKEN not in str(result.to_dict())
    assert result.to_dict()["changes"] == result.changes
