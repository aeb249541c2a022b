"""One driver per run, one decision per approval: seeded races with real threads.

Each trial runs on a fresh in-process sandbox that logs every request the tenant got:

  resume_verify    the process dies during a suspension (a write the action can
  resume_no_verify verify) or a note (one it cannot): before the tenant got it or
                   after it applied it, by the seed. Then 8 resumes start at once
                   (staggered by the seed). Where the run stops in doubt, the operator
                   looks at the tenant and marks the step done, or sends it again.
  decide           a run waits for an approval; 8 approve/reject it at once.
  resume_vs_approve  a run waits for an approval; 4 resumes and 4 approvals at once.

Then the run is resumed (approving where it waits) until it ends. Checks, per trial:
the tenant received each write exactly once (none for a rejected step), the journal
still folds and the run reached its end (else it is "unresumable"), nothing follows
`run_finished`, and exactly one decision was recorded. Each caller's answer is counted
(drove, busy, finished, the same decision again, a conflict).

Threads rather than processes: the locks are flocks on separate open files, which
exclude each other the same way within one process and across processes (the CLI
tests hold a lock from a real second process).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from soarpack import errors
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.playbook import approve, resume_run, run_playbook
from soarpack.playbook.journal import read_events
from soarpack.playbook.state import RunState
from soarpack.playbook.validate import load_playbook
from soarpack.sandbox import InProcessTransport, SandboxState
from tests.faults.common import TOKEN
from tests.faults.playbook_trials import APPS, BASE_URL, CREDENTIALS

KINDS = ("resume_verify", "resume_no_verify", "decide", "resume_vs_approve")
KILLED = ("resume_verify", "resume_no_verify")  # the kinds whose run dies during its write
USER = "ex-users-1"
ALERT = "ex-alerts-1"
SUSPEND = "lacework_edge.users.suspend"
NOTE = "lacework_edge.alerts.add_note"


def _book(name: str, change: str, approval: str) -> str:
    return f"""
name: {name}
description: read a user, change something, read the user again
steps:
  - id: user
    action: lacework_edge.users.get
    with: {{uuid: {USER}}}
  - id: change
    {change}
    approval: {approval}
  - id: after
    action: lacework_edge.users.get
    with: {{uuid: {USER}}}
    outputs: {{status: "${{{{ result.status_name }}}}"}}
"""


_SUSPEND = f"action: {SUSPEND}\n    with: {{user_uuid: {USER}}}"
_NOTE = f'action: {NOTE}\n    with: {{alert_uuid: {ALERT}, note: "race ${{{{ run.id }}}}"}}'
# Each kind's playbook, and what the tenant's log shows of its write: a change request
# (not GET) on that path (a suspension is a PATCH of the user, a note a POST on the alert).
BOOKS = {
    "resume_verify": (_book("race-suspend", _SUSPEND, "none"), f"/users/{USER}"),
    "resume_no_verify": (_book("race-note", _NOTE, "none"), f"/alerts/{ALERT}"),
    "decide": (_book("race-approval", _SUSPEND, '{prompt: "Suspend?"}'), f"/users/{USER}"),
    "resume_vs_approve": (
        _book("race-approval", _SUSPEND, '{prompt: "Suspend?"}'),
        f"/users/{USER}",
    ),
}


class Killed(BaseException):
    """The process died here (nothing may catch this)."""


class KillDuringWrite(httpx.BaseTransport):
    """Dies at the first change request: before the tenant gets it, or after it applied
    it; every request after that passes (the resumes)."""

    def __init__(self, inner: httpx.BaseTransport, when: str | None) -> None:
        self.inner, self.when = inner, when
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            when = self.when if request.method != "GET" else None
            if when is not None:
                self.when = None
        if when == "before":
            raise Killed("before the write")
        response = self.inner.handle_request(request)
        if when == "after":
            response.read()
            raise Killed("after the write")
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass
class RaceTotals:
    trials: Counter[str] = field(default_factory=Counter)
    writes_expected: int = 0
    writes_sent: int = 0
    writes_twice: int = 0
    writes_lost: int = 0
    unresumable: int = 0
    events_after_finished: int = 0
    extra_decisions: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    def add(self, other: RaceTotals) -> None:
        for name in (
            "writes_expected",
            "writes_sent",
            "writes_twice",
            "writes_lost",
            "unresumable",
            "events_after_finished",
            "extra_decisions",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.trials.update(other.trials)
        self.answers.update(other.answers)
        self.failures.extend(other.failures)

    def to_dict(self) -> dict[str, Any]:
        per_write = self.writes_sent / self.writes_expected if self.writes_expected else None
        return {
            "trials": dict(sorted(self.trials.items())),
            "writes_expected": self.writes_expected,
            "writes_sent": self.writes_sent,
            "requests_per_write": per_write,
            "writes_sent_twice": self.writes_twice,
            "writes_lost": self.writes_lost,
            "runs_left_unresumable": self.unresumable,
            "events_after_run_finished": self.events_after_finished,
            "extra_decisions": self.extra_decisions,
            "answers": dict(sorted(self.answers.items())),
            "failures": self.failures,
        }


@dataclass
class Box:
    state: SandboxState
    engine: Engine
    runs: Path
    book: Path
    write: str

    def writes(self) -> int:
        return sum(
            1
            for e in self.state.logged_requests()
            if e["method"] != "GET" and self.write in str(e["path"])
        )


def _box(pack: Pack, folder: Path, kind: str, kill: str | None) -> Box:
    state = SandboxState(token=TOKEN)
    env: dict[str, str] = {}
    for name in APPS:
        values = {"base_url": BASE_URL, "max_attempts": 3, **CREDENTIALS[name]}
        env.update({f"SOARPACK_{name.upper()}_{k.upper()}": str(v) for k, v in values.items()})
    transports: dict[str, httpx.BaseTransport] = {
        name: InProcessTransport(app(state)) for name, app in APPS.items()
    }
    transports["lacework_edge"] = KillDuringWrite(transports["lacework_edge"], kill)
    engine = Engine(pack, Config(env=env), transports=transports, sleep=lambda s: None)
    text, write = BOOKS[kind]
    folder.mkdir(parents=True, exist_ok=True)
    book = folder / f"{kind}.yaml"
    book.write_text(text, encoding="utf-8")
    return Box(state, engine, folder / "runs", book, write)


# How far apart the callers of a trial start (seeded, per trial): all at once, or
# spread over about a drive's length (some meet the drive, some come after it).
SPREADS = (0.0, 0.002, 0.04)


def _at_once(rng: random.Random, calls: list[Callable[[], str]]) -> list[str]:
    """Run the calls on their own threads from one barrier, each after a seeded stagger
    within the trial's spread; returns how each was answered."""
    start = threading.Barrier(len(calls))
    spread = rng.choice(SPREADS)
    staggers = [rng.uniform(0, spread) for _ in calls]

    def one(index: int) -> str:
        start.wait(30)
        time.sleep(staggers[index])
        return calls[index]()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(one, range(len(calls))))


def _resume(box: Box, run_id: str) -> Callable[[], str]:
    def call() -> str:
        try:
            result = resume_run(run_id, engine=box.engine, runs_dir_path=box.runs)
        except errors.RunBusyError:
            return "resume: busy"
        except errors.RunStateError as exc:
            if "already finished" in str(exc):
                return "resume: finished"
            raise
        return f"resume: drove, {result.status}"

    return call


def _decide(box: Box, run_id: str, by: str, approved: bool) -> Callable[[], str]:
    def call() -> str:
        try:
            event = approve(run_id, "change", by=by, approved=approved, runs_dir_path=box.runs)
        except errors.DecisionConflict:
            return "decide: conflict"
        except errors.RunBusyError:
            return "decide: busy"
        return "decide: same again" if event.get("already_recorded") else "decide: recorded"

    return call


def _finish(box: Box, run_id: str) -> None:
    """What the operator does next: resume, approving what waits; a step in doubt is
    marked done if the tenant shows it, else sent again."""
    for _ in range(10):
        try:
            result = resume_run(run_id, engine=box.engine, runs_dir_path=box.runs)
        except errors.RunStateError as exc:
            if "already finished" in str(exc):
                return
            raise
        if result.status == "waiting":
            for waiting in result.waiting:
                approve(run_id, waiting["step"], by="operator", runs_dir_path=box.runs)
        elif result.status == "in_doubt":
            assert isinstance(result.error, errors.InDoubtError)
            arrived = box.writes() > 0
            resume_run(
                run_id,
                engine=box.engine,
                runs_dir_path=box.runs,
                mark_done=result.error.steps if arrived else (),
                retry_in_doubt=() if arrived else result.error.steps,
                by="operator",
                reason="looked at the tenant",
            )
        else:
            return
    raise AssertionError(f"run {run_id} did not end after 10 resumes")


def _started(box: Box, kill: str | None) -> str:
    ids: list[str] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["ev"] == "run_started":
            ids.append(event["run_id"])

    try:
        run_playbook(box.book, engine=box.engine, runs_dir_path=box.runs, on_event=on_event)
    except Killed:
        assert kill is not None
    return ids[0]


def trial(pack: Pack, folder: Path, kind: str, rng: random.Random, totals: RaceTotals) -> None:
    kill = rng.choice(("before", "after")) if kind in KILLED else None
    box = _box(pack, folder, kind, kill)
    try:
        run_id = _started(box, kill)
        approving = True
        if kind in KILLED:
            calls = [_resume(box, run_id) for _ in range(8)]
        elif kind == "decide":
            choices = [rng.random() < 0.5 for _ in range(8)]
            calls = [_decide(box, run_id, f"op{n}", c) for n, c in enumerate(choices)]
        else:
            calls = [_resume(box, run_id) for _ in range(4)]
            calls += [_decide(box, run_id, f"op{n}", True) for n in range(4)]
            rng.shuffle(calls)
        answers = _at_once(rng, calls)
        totals.answers.update(f"{kind} {a}" for a in answers)
        events = read_events(box.runs / run_id / "journal.jsonl")
        decisions = [e for e in events if e["ev"] in ("approved", "rejected")]
        if kind in ("decide", "resume_vs_approve"):
            totals.extra_decisions += max(0, len(decisions) - 1)
            approving = bool(decisions) and decisions[0]["ev"] == "approved"
        _finish(box, run_id)
        _check(box, run_id, kind, approving, totals)
    except (Exception, Killed) as exc:  # a trial's error is a failure to report
        totals.failures.append(f"{kind} {folder.name}: {type(exc).__name__}: {exc}")
    finally:
        box.engine.close()
    totals.trials[kind] += 1


def _check(box: Box, run_id: str, kind: str, approving: bool, totals: RaceTotals) -> None:
    label = f"{kind} {run_id}"
    events = read_events(box.runs / run_id / "journal.jsonl")
    ends = [i for i, e in enumerate(events) if e["ev"] == "run_finished"]
    if ends:
        after = len(events) - 1 - ends[0]
        totals.events_after_finished += after
        if after:
            totals.failures.append(f"{label}: {after} event(s) after run_finished")
    expected = 1 if approving else 0
    sent = box.writes()
    totals.writes_expected += expected
    totals.writes_sent += sent
    totals.writes_twice += max(0, sent - 1)
    totals.writes_lost += max(0, expected - sent)
    if sent != expected:
        totals.failures.append(f"{label}: the tenant got the write {sent} times")
    want = "succeeded" if approving else "failed"
    try:
        book = load_playbook(box.runs / run_id / "playbook.yaml", box.engine.pack)
        state = RunState(book, {"id": run_id})
        for event in events:
            if "/" not in str(event.get("step", "")):
                state.apply(event)  # a damaged journal raises here
        status = events[ends[0]].get("status") if ends else None
        if status != want:
            raise AssertionError(f"ended {status}, not {want}")
    except (errors.SoarpackError, AssertionError) as exc:
        totals.unresumable += 1
        totals.failures.append(f"{label}: unresumable: {exc}")


def run_race_trials(
    pack: Pack,
    workdir: Path,
    trials: int,
    *,
    seed: int = 0,
    progress: Callable[[str, int, RaceTotals], None] | None = None,
) -> RaceTotals:
    """`trials` seeded trials of each kind."""
    totals = RaceTotals()
    for kind in KINDS:
        for number in range(trials):
            rng = random.Random(f"{seed}-{kind}-{number}")
            trial(pack, workdir / kind / str(number), kind, rng, totals)
            if progress is not None:
                progress(kind, number + 1, totals)
    return totals
