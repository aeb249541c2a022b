"""One driver per run, one decision per approval: the drive lock refuses a second
driver at once (with the holder's pid), decisions are checked and appended under the
journal's lock (the same again changes nothing, another is a conflict naming the
first), and a person's decision made during a drive is never overridden by it."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from soarpack import errors, exitcodes
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.playbook import RunResult, approve, resume_run, run_playbook
from soarpack.playbook.journal import read_events
from soarpack.playbook.session import waiting_steps
from tests.conftest import REPO, Sleeps
from tests.playbook.conftest import Things
from tests.playbook.mockserver import BASE_URL, TOKEN, ThingsServer
from tests.playbook.test_approvals import BOOK, Clock

APPROVAL_BOOK = BOOK.replace("{on_timeout}", "fail")


def journal(things_runs: Path, run_id: str) -> list[dict[str, Any]]:
    return read_events(things_runs / run_id / "journal.jsonl")


@contextlib.contextmanager
def held_by_another_process(lock: Path) -> Iterator[int]:
    """A real second process that holds the run's drive lock; yields its pid."""
    code = (
        "import sys; from pathlib import Path; from soarpack.playbook.journal import RunLock; "
        "lock = RunLock(Path(sys.argv[1])); lock.acquire(); print('held', flush=True); "
        "sys.stdin.read()"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", code, str(lock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        yield child.pid
    finally:
        assert child.stdin is not None and child.stdout is not None
        child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()


class Gate:
    """Holds one kind of request ("METHOD /path") until opened; the rest pass through."""

    def __init__(self, server: ThingsServer, request: str) -> None:
        self.server = server
        self.request = request
        self.reached = threading.Event()
        self.opened = threading.Event()

    def handle(self, request: httpx.Request) -> httpx.Response:
        if f"{request.method} {request.url.path}" == self.request:
            self.reached.set()
            assert self.opened.wait(30), "the gate was never opened"
        return self.server.handle(request)


def engine_with(mock_pack: Pack, sleeps: Sleeps, handle: Callable[[httpx.Request], Any]) -> Engine:
    env = {
        "SOARPACK_MOCK_BASE_URL": BASE_URL,
        "SOARPACK_MOCK_TOKEN": TOKEN,
        "SOARPACK_MOCK_MAX_ATTEMPTS": "1",
    }
    transport = httpx.MockTransport(handle)
    return Engine(mock_pack, Config(env=env), transports={"mock": transport}, sleep=sleeps)


def wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


def _paused(things: Things, clock: Clock | None = None) -> RunResult:
    things.server.things["a"] = {"id": "a"}
    result = run_playbook(
        things.book(APPROVAL_BOOK),
        engine=things.engine,
        runs_dir_path=things.runs,
        clock=clock or Clock(),
    )
    assert result.status == "waiting"
    return result


# -- one driver ---------------------------------------------------------------------------


def test_a_second_driver_is_refused_at_once_naming_the_pid_and_sending_nothing(
    things: Things,
) -> None:
    paused = _paused(things)
    folder = things.runs / paused.run_id
    before, sent = (folder / "journal.jsonl").read_bytes(), list(things.server.log)
    approve(paused.run_id, "delete", by="alice", runs_dir_path=things.runs)
    decided = (folder / "journal.jsonl").read_bytes()
    assert decided.startswith(before)  # an approval needs no driver: it landed
    with (
        held_by_another_process(folder / "lock") as pid,
        pytest.raises(errors.RunBusyError) as caught,
    ):
        resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert caught.value.pid == pid and caught.value.run_id == paused.run_id
    assert str(caught.value).startswith(f"run {paused.run_id} is being driven by pid {pid}.")
    assert exitcodes.exit_code_for(caught.value) == exitcodes.BUSY == 13
    assert caught.value.to_dict()["pid"] == pid
    assert (folder / "journal.jsonl").read_bytes() == decided  # nothing read into, nothing added
    assert things.server.log == sent
    # Once the other process is gone, the run goes on from where it was.
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == "succeeded" and things.server.count("DELETE /things/a") == 1


def test_a_finished_run_says_so_on_resume_and_nothing_is_written_or_sent(things: Things) -> None:
    paused = _paused(things)
    approve(paused.run_id, "delete", by="alice", runs_dir_path=things.runs)
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == "succeeded"
    path = things.runs / paused.run_id / "journal.jsonl"
    before, sent = path.read_bytes(), list(things.server.log)
    with pytest.raises(errors.RunStateError, match="already finished \\(succeeded\\)") as caught:
        resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert not isinstance(caught.value, errors.RunBusyError)
    assert path.read_bytes() == before and things.server.log == sent


def test_while_a_drive_goes_on_a_resume_is_refused_and_an_approval_still_lands(
    mock_pack: Pack, sleeps: Sleeps, things: Things
) -> None:
    gate = Gate(things.server, "POST /echo")  # the independent branch, held mid-drive
    clock = Clock()
    with engine_with(mock_pack, sleeps, gate.handle) as engine:
        things.server.things["a"] = {"id": "a"}
        ids: list[str] = []
        with ThreadPoolExecutor(1) as pool:
            driving = pool.submit(
                run_playbook,
                things.book(APPROVAL_BOOK),
                engine=engine,
                runs_dir_path=things.runs,
                clock=clock,
                on_event=lambda e: ids.append(e["run_id"]) if e["ev"] == "run_started" else None,
            )
            assert gate.reached.wait(30)
            run_id = ids[0]
            wait_until(lambda: "delete" in waiting_steps(journal(things.runs, run_id)))
            with pytest.raises(errors.RunBusyError) as caught:
                resume_run(run_id, engine=engine, runs_dir_path=things.runs)
            assert caught.value.pid == os.getpid()
            decided = approve(run_id, "delete", by="alice", runs_dir_path=things.runs)
            assert decided["ev"] == "approved"
            # The approval's timeout passes before the drive looks at the step again:
            # the runner must not fail a step a person has approved.
            clock.now += 601
            gate.opened.set()
            first = driving.result(timeout=30)
    assert first.status == "waiting"  # the decision came during the drive: the next one acts
    events = journal(things.runs, run_id)
    assert [e["ev"] for e in events if e.get("step") == "delete"] == [
        "approval_requested",
        "approved",
    ]
    done = resume_run(run_id, engine=things.engine, runs_dir_path=things.runs, clock=clock)
    assert done.status == "succeeded" and done.outputs == {"after": "succeeded"}
    assert things.server.count("DELETE /things/a") == 1


# -- one decision -------------------------------------------------------------------------


def test_the_same_decision_again_changes_nothing_and_another_is_a_conflict_naming_it(
    things: Things,
) -> None:
    paused = _paused(things)
    path = things.runs / paused.run_id / "journal.jsonl"
    first = approve(paused.run_id, "delete", by="alice", runs_dir_path=things.runs)
    size = path.stat().st_size
    again = approve(paused.run_id, "delete", by="bob", runs_dir_path=things.runs)
    assert again == {**first, "already_recorded": True}  # alice's, as recorded
    assert path.stat().st_size == size
    with pytest.raises(errors.DecisionConflict) as caught:
        approve(paused.run_id, "delete", by="carol", approved=False, runs_dir_path=things.runs)
    conflict = caught.value
    assert (conflict.decision, conflict.by, conflict.at) == ("approved", "alice", first["t"])
    assert f"already approved by alice at {first['t']}" in str(conflict)
    assert exitcodes.exit_code_for(conflict) == exitcodes.DECIDED == 14
    assert conflict.to_dict()["decision"] == "approved" and conflict.to_dict()["by"] == "alice"
    assert path.stat().st_size == size


def test_a_decision_after_the_approval_timed_out_conflicts_with_the_timeout(
    things: Things,
) -> None:
    clock = Clock()
    paused = _paused(things, clock)
    clock.now += 601
    failed = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs, clock=clock)
    assert failed.status == "failed"
    with pytest.raises(errors.DecisionConflict, match="already failed \\(its approval timed out"):
        approve(paused.run_id, "delete", by="alice", runs_dir_path=things.runs)


def test_eight_parallel_decisions_record_exactly_one(things: Things) -> None:
    paused = _paused(things)
    start = threading.Barrier(8)

    def decide(n: int) -> dict[str, Any] | errors.DecisionConflict:
        start.wait(10)
        try:
            return approve(
                paused.run_id, "delete", by=f"op{n}", approved=n % 2 == 0, runs_dir_path=things.runs
            )
        except errors.DecisionConflict as conflict:
            return conflict

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(decide, range(8)))
    decisions = [
        e for e in journal(things.runs, paused.run_id) if e["ev"] in ("approved", "rejected")
    ]
    assert len(decisions) == 1
    [recorded] = decisions
    for answer in answers:
        if isinstance(answer, errors.DecisionConflict):
            assert (answer.decision, answer.by) == (recorded["ev"], recorded["by"])
        else:
            assert (answer["ev"], answer["by"], answer["t"]) == (
                recorded["ev"],
                recorded["by"],
                recorded["t"],
            )
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == ("succeeded" if recorded["ev"] == "approved" else "failed")
    assert things.server.count("DELETE /things/a") == (recorded["ev"] == "approved")


def test_a_line_torn_by_a_writer_that_died_is_cut_before_anything_is_appended(
    things: Things,
) -> None:
    paused = _paused(things)
    path = things.runs / paused.run_id / "journal.jsonl"
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"ev":"started","step":"torn-li')  # its writer died here
    approve(paused.run_id, "delete", by="alice", runs_dir_path=things.runs)
    text = path.read_bytes()
    assert text.startswith(whole) and b"torn-li" not in text and text.endswith(b"\n")
    assert journal(things.runs, paused.run_id)[-1]["ev"] == "approved"
    done = resume_run(paused.run_id, engine=things.engine, runs_dir_path=things.runs)
    assert done.status == "succeeded" and things.server.count("DELETE /things/a") == 1
