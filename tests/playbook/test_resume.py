"""Crash and resume: a run stopped at any journal boundary resumes without re-sending a
change blindly. The crash is simulated by a journal that stops the process (a
BaseException, which nothing in the runner catches) before writing its N-th event:
everything after that point is lost, exactly as with kill -9.
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from soarpack import errors
from soarpack.playbook import resume_run, run_playbook
from soarpack.playbook.history import list_runs
from soarpack.playbook.journal import Journal, read_events
from tests.playbook.conftest import Things

BOOK = """
name: test-book
description: read, delete (verifiable), touch (not verifiable), echo
steps:
  - id: read
    action: mock.things.get
    with: {id: a}
  - id: delete
    action: mock.things.delete
    with: {id: a}
    approval: none
  - id: touch
    action: mock.things.touch
    with: {id: b}
  - id: done
    action: mock.service.echo
    with: {value: finished}
    outputs: {value: "${{ result.value }}"}
outputs:
  value: ${{ steps.done.outputs.value }}
"""


class Killed(BaseException):
    """The process died (nothing may catch this)."""


def crashing_after(limit: int) -> type[Journal]:
    """A journal whose process dies before writing its event number `limit + 1`."""

    class CrashingJournal(Journal):
        written = 0
        on_disk = 0  # bytes the OS has: what survives the process

        def write(self, line: str, *, sync: str = "flush") -> None:
            if CrashingJournal.written >= limit:
                # Like kill -9: what sat in the process's buffer is lost too.
                self._handle.flush()
                os.truncate(self.files.journal, CrashingJournal.on_disk)
                raise Killed(json.loads(line)["ev"])
            CrashingJournal.written += 1
            super().write(line, sync=sync)
            if sync != "buffer":
                CrashingJournal.on_disk = self.files.journal.stat().st_size

    return CrashingJournal


class RunIds(list[str]):
    """Collects run ids from the live event stream."""

    def __call__(self, event: dict[str, Any]) -> None:
        if event["ev"] == "run_started":
            self.append(event["run_id"])


def _fresh(things: Things) -> None:
    things.server.things.update({"a": {"id": "a"}, "b": {"id": "b"}})


def _clean_run_events(things: Things) -> int:
    _fresh(things)
    result = run_playbook(things.book(BOOK), engine=things.engine, runs_dir_path=things.runs)
    assert result.status == "succeeded"
    return len(read_events(things.runs / result.run_id / "journal.jsonl"))


def test_a_kill_at_every_journal_boundary_never_resends_a_change_blindly(things: Things) -> None:
    total = _clean_run_events(things)
    for limit in range(1, total):
        things.server.log.clear()
        _fresh(things)
        with pytest.raises(Killed):
            run_playbook(
                things.book(BOOK),
                engine=things.engine,
                runs_dir_path=things.runs,
                journal_class=crashing_after(limit),
                on_event=(ids := RunIds()),
            )
        run_id = ids[0]
        assert {r["run_id"]: r["status"] for r in list_runs(things.runs)}[run_id] == "interrupted"
        resumed = resume_run(run_id, engine=things.engine, runs_dir_path=things.runs)
        if resumed.status == "in_doubt":
            # Only the unverifiable write can be in doubt, and it is named.
            assert isinstance(resumed.error, errors.InDoubtError)
            assert resumed.error.steps == ["touch"] and resumed.exit_code == 11
            assert things.server.count("PUT /things/b/touch") == 1  # sent once, not again
            resumed = resume_run(
                run_id, engine=things.engine, runs_dir_path=things.runs, retry_in_doubt=["touch"]
            )
            assert things.server.count("PUT /things/b/touch") == 2  # on the user's word only
        assert resumed.status == "succeeded", (limit, resumed.to_dict())
        assert resumed.outputs == {"value": "finished"}
        assert things.server.count("DELETE /things/a") == 1, (limit, things.server.log)
        assert "a" not in things.server.things
        assert things.server.count("PUT /things/b/touch") in (1, 2)


def test_a_delete_sent_but_not_recorded_is_verified_not_resent(things: Things) -> None:
    _fresh(things)
    # run_started, read started, read succeeded, delete started: the 5th event is lost.
    events_before_delete_outcome = 4
    with pytest.raises(Killed) as killed:
        run_playbook(
            things.book(BOOK),
            engine=things.engine,
            runs_dir_path=things.runs,
            journal_class=crashing_after(events_before_delete_outcome),
            on_event=(ids := RunIds()),
        )
    assert str(killed.value) == "succeeded"  # the delete's outcome was the event lost
    assert things.server.count("DELETE /things/a") == 1
    run_id = ids[0]
    resumed = resume_run(run_id, engine=things.engine, runs_dir_path=things.runs)
    assert resumed.status == "succeeded", (resumed.to_dict(), things.server.log)
    assert things.server.count("DELETE /things/a") == 1
    assert things.server.count("GET /things/a") == 2  # the step's read, then the verification
    events = read_events(things.runs / run_id / "journal.jsonl")
    kinds = [(e["ev"], e.get("step")) for e in events if e.get("step") == "delete"]
    assert kinds[-2:] == [("in_doubt", "delete"), ("verified_done", "delete")]


def test_a_delete_recorded_as_started_but_not_sent_is_sent_after_verification(
    things: Things,
) -> None:
    _fresh(things)
    with pytest.raises(Killed) as killed:
        # Die when the delete's outcome would be recorded; then put the thing back by
        # hand: the journal says "started", the service says "not applied".
        run_playbook(
            things.book(BOOK),
            engine=things.engine,
            runs_dir_path=things.runs,
            journal_class=crashing_after(4),
            on_event=(ids := RunIds()),
        )
    assert str(killed.value) == "succeeded"
    run_id = ids[0]
    things.server.things["a"] = {"id": "a"}
    before = things.server.count("DELETE /things/a")
    resumed = resume_run(run_id, engine=things.engine, runs_dir_path=things.runs)
    assert resumed.status == "succeeded"
    assert things.server.count("DELETE /things/a") == before + 1  # verified absent: sent
    assert "a" not in things.server.things


def test_resume_of_a_finished_run_is_refused(things: Things) -> None:
    _fresh(things)
    result = run_playbook(things.book(BOOK), engine=things.engine, runs_dir_path=things.runs)
    with pytest.raises(errors.RunStateError, match="already finished"):
        resume_run(result.run_id, engine=things.engine, runs_dir_path=things.runs)


def test_resume_of_an_unknown_run_names_it(things: Things) -> None:
    with pytest.raises(errors.RunStateError, match="No run nope"):
        resume_run("nope", engine=things.engine, runs_dir_path=things.runs)
