"""An operator who checked the tenant settles a step in doubt without resending it
(`mark_done`); and where approvals are asked: a loop's only when some item passes its
`when`, a sub-playbook's pausing and resuming its parent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from soarpack import errors
from soarpack.pack import Pack
from soarpack.playbook import approve, resume_run, run_playbook
from soarpack.playbook.journal import read_events
from soarpack.playbook.session import mark_done
from tests.conftest import Sleeps
from tests.playbook.conftest import Things
from tests.playbook.test_resume import BOOK, Killed, RunIds
from tests.playbook.test_run_locks import engine_with


def _in_doubt(mock_pack: Pack, sleeps: Sleeps, things: Things) -> str:
    """A run whose process died just after the unverifiable `touch` reached the tenant."""
    things.server.things.update({"a": {"id": "a"}, "b": {"id": "b"}})

    def handle(request: httpx.Request) -> httpx.Response:
        response = things.server.handle(request)
        if request.url.path == "/things/b/touch":
            raise Killed("after the touch arrived")
        return response

    ids = RunIds()
    with engine_with(mock_pack, sleeps, handle) as engine, pytest.raises(Killed):
        run_playbook(things.book(BOOK), engine=engine, runs_dir_path=things.runs, on_event=ids)
    assert things.server.count("PUT /things/b/touch") == 1
    return ids[0]


def _events(things: Things, run_id: str) -> list[dict[str, Any]]:
    return read_events(things.runs / run_id / "journal.jsonl")


def test_mark_done_settles_a_step_in_doubt_without_sending_it_again(
    mock_pack: Pack, sleeps: Sleeps, things: Things
) -> None:
    run_id = _in_doubt(mock_pack, sleeps, things)
    done = resume_run(
        run_id,
        engine=things.engine,
        runs_dir_path=things.runs,
        mark_done=["touch"],
        by="carol",
        reason="the touch shows in the console at 10:02",
    )
    assert done.status == "succeeded" and done.outputs == {"value": "finished"}
    assert things.server.count("PUT /things/b/touch") == 1  # never resent
    assert done.steps["touch"]["status"] == "succeeded"
    touch = [e for e in _events(things, run_id) if e.get("step") == "touch"]
    assert [e["ev"] for e in touch] == ["started", "in_doubt", "marked_done"]
    mark = touch[-1]
    assert (mark["by"], mark["reason"]) == ("carol", "the touch shows in the console at 10:02")
    assert isinstance(mark["at"], float) and mark["t"].endswith("Z")
    assert mark["result"] == {"marked_done": True, "by": "carol", "reason": mark["reason"]}


def test_mark_done_on_its_own_then_a_resume_goes_on(
    mock_pack: Pack, sleeps: Sleeps, things: Things
) -> None:
    run_id = _in_doubt(mock_pack, sleeps, things)
    stopped = resume_run(run_id, engine=things.engine, runs_dir_path=things.runs)
    assert stopped.status == "in_doubt" and stopped.exit_code == 11
    event = mark_done(
        run_id, "touch", by="carol", reason="seen", pack=mock_pack, runs_dir_path=things.runs
    )
    assert event["ev"] == "marked_done" and event["step"] == "touch"
    done = resume_run(run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == "succeeded" and things.server.count("PUT /things/b/touch") == 1


def test_mark_done_is_only_for_a_step_in_doubt_and_needs_who_and_why(
    mock_pack: Pack, sleeps: Sleeps, things: Things
) -> None:
    run_id = _in_doubt(mock_pack, sleeps, things)
    path = things.runs / run_id / "journal.jsonl"
    before = path.read_bytes()
    with pytest.raises(
        errors.RunStateError, match=r"Step 'read' .* not in doubt \(it is succeeded\)"
    ):
        resume_run(
            run_id,
            engine=things.engine,
            runs_dir_path=things.runs,
            mark_done=["touch", "read"],
            by="carol",
            reason="seen",
        )
    with pytest.raises(errors.InputError) as caught:
        resume_run(run_id, engine=things.engine, runs_dir_path=things.runs, mark_done=["touch"])
    assert caught.value.fields == ["/by", "/reason"]
    assert path.read_bytes() == before  # nothing of either was journaled
    assert things.server.count("PUT /things/b/touch") == 1


LOOP = """
name: test-book
description: a loop behind an approval, filtered by when
inputs: {type: object, properties: {over: {type: integer}}}
steps:
  - id: make
    action: mock.things.create
    for_each: "${{ `[1, 2, 3]` }}"
    when: "${{ item > inputs.over }}"
    with: {id: "n${{ item }}", value: "${{ item }}"}
    approval: {prompt: "Create things?"}
"""


@pytest.mark.parametrize(("over", "asked", "created"), [(5, False, 0), (2, True, 1)])
def test_a_loop_approval_is_asked_only_when_some_item_passes_its_when(
    things: Things, over: int, asked: bool, created: int
) -> None:
    result = run_playbook(
        things.book(LOOP), {"over": over}, engine=things.engine, runs_dir_path=things.runs
    )
    kinds = [e["ev"] for e in _events(things, result.run_id) if e.get("step") == "make"]
    assert ("approval_requested" in kinds) is asked
    if asked:
        assert result.status == "waiting" and things.server.log == []
        approve(result.run_id, "make", by="alice", runs_dir_path=things.runs)
        result = resume_run(result.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert result.status == "succeeded"
    counts = {"skipped": 3 - created, "succeeded": created}
    assert result.steps["make"]["items"] == {k: n for k, n in counts.items() if n}
    assert len([r for r in things.server.log if r.startswith("POST")]) == created


CHILD = """
name: approval-child
description: a delete behind an approval
inputs: {type: object, properties: {id: {type: string}}}
steps:
  - id: remove
    action: mock.things.delete
    with: {id: "${{ inputs.id }}"}
    approval: {prompt: "Delete ${{ inputs.id }}?"}
outputs:
  gone: ${{ steps.remove.status == 'succeeded' }}
"""

PARENT = """
name: test-book
description: a sub-playbook whose step waits for a person
steps:
  - id: sub
    playbook: approval-child
    with: {id: a}
    outputs: {gone: "${{ result.gone }}"}
  - id: after
    action: mock.service.echo
    with: {value: "${{ steps.sub.outputs.gone }}"}
    outputs: {value: "${{ result.value }}"}
outputs:
  after: ${{ steps.after.outputs.value }}
"""


def test_an_approval_inside_a_sub_playbook_pauses_and_resumes_the_parent(
    things: Things, mock_pack: Pack
) -> None:
    things.server.things["a"] = {"id": "a"}
    # In the pack's playbooks/: a resume reads the run's copy of the parent, elsewhere.
    (mock_pack.root / "playbooks" / "approval-child.yaml").write_text(CHILD, encoding="utf-8")
    paused = run_playbook(things.book(PARENT), engine=things.engine, runs_dir_path=things.runs)
    assert paused.status == "waiting" and paused.exit_code == 10
    assert [w["step"] for w in paused.waiting] == ["sub/remove"]
    assert paused.steps["sub"]["status"] == "running" and "after" not in things.server.log
    assert things.server.count("DELETE /things/a") == 0
    approve(paused.run_id, "sub/remove", by="alice", runs_dir_path=things.runs)
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == "succeeded" and done.outputs == {"after": True}
    assert things.server.count("DELETE /things/a") == 1
    assert things.server.count("POST /echo") == 1


LOOP_PARENT = """
name: test-book
description: a loop over a sub-playbook whose step waits for a person
steps:
  - id: sub
    playbook: approval-child
    for_each: ${{ `["a", "b"]` }}
    concurrency: 2
    with: {id: "${{ item }}"}
    outputs: {gone: "${{ result.gone }}"}
  - id: after
    action: mock.service.echo
    with: {value: "${{ steps.sub.outputs.gone }}"}
    outputs: {value: "${{ result.value }}"}
outputs:
  after: ${{ steps.after.outputs.value }}
"""


def test_a_loop_waits_for_every_item_of_a_sub_playbook_that_pauses(
    things: Things, mock_pack: Pack
) -> None:
    # The loop used to end as soon as its items' jobs returned: with both children
    # waiting, it "succeeded" with no items, `after` ran on [], and the approved
    # deletes were never sent on resume (the loop was over).
    things.server.things.update({"a": {"id": "a"}, "b": {"id": "b"}})
    (mock_pack.root / "playbooks" / "approval-child.yaml").write_text(CHILD, encoding="utf-8")
    paused = run_playbook(things.book(LOOP_PARENT), engine=things.engine, runs_dir_path=things.runs)
    assert paused.status == "waiting"
    assert sorted(w["step"] for w in paused.waiting) == ["sub[0]/remove", "sub[1]/remove"]
    assert paused.steps["sub"]["status"] == "running" and things.server.log == []
    for waiting in paused.waiting:
        approve(paused.run_id, waiting["step"], by="alice", runs_dir_path=things.runs)
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == "succeeded" and done.outputs == {"after": [True, True]}
    assert sorted(things.server.log) == ["DELETE /things/a", "DELETE /things/b", "POST /echo"]


# A byte of argv that is not UTF-8 arrives as a lone surrogate: the journal cannot hold it.
NOT_UTF8 = "carol\udcff"


def test_who_and_why_that_are_not_utf8_are_bad_input_and_nothing_is_journaled(
    mock_pack: Pack, sleeps: Sleeps, things: Things
) -> None:
    run_id = _in_doubt(mock_pack, sleeps, things)
    path = things.runs / run_id / "journal.jsonl"
    before = path.read_bytes()
    with pytest.raises(errors.InputError) as by:
        mark_done(
            run_id, "touch", by=NOT_UTF8, reason="seen", pack=mock_pack, runs_dir_path=things.runs
        )
    assert by.value.fields == ["/by"]
    assert "cannot be encoded as UTF-8" in str(by.value)
    with pytest.raises(errors.InputError) as reason:
        resume_run(
            run_id,
            engine=things.engine,
            runs_dir_path=things.runs,
            mark_done=["touch"],
            by="carol",
            reason=NOT_UTF8,
        )
    assert reason.value.fields == ["/reason"]
    assert path.read_bytes() == before
    assert things.server.count("PUT /things/b/touch") == 1


def test_an_approval_whose_who_or_why_is_not_utf8_is_bad_input_and_records_nothing(
    things: Things, mock_pack: Pack
) -> None:
    things.server.things["a"] = {"id": "a"}
    (mock_pack.root / "playbooks" / "approval-child.yaml").write_text(CHILD, encoding="utf-8")
    paused = run_playbook(things.book(PARENT), engine=things.engine, runs_dir_path=things.runs)
    path = things.runs / paused.run_id / "journal.jsonl"
    before = path.read_bytes()
    with pytest.raises(errors.InputError) as by:
        approve(paused.run_id, "sub/remove", by=NOT_UTF8, runs_dir_path=things.runs)
    assert by.value.fields == ["/by"]
    with pytest.raises(errors.InputError) as reason:
        approve(
            paused.run_id,
            "sub/remove",
            by="carol",
            approved=False,
            reason=NOT_UTF8,
            runs_dir_path=things.runs,
        )
    assert reason.value.fields == ["/reason"]
    assert path.read_bytes() == before
    assert things.server.count("DELETE /things/a") == 0
