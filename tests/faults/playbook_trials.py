"""Kill the shipped playbooks at every journal boundary and mid-request, then resume.

For each shipped playbook (inputs as in tests/playbook/test_shipped_playbooks.py) a
clean run on a fresh in-process sandbox gives the reference: its journal length, its
requests, and the writes the tenant received. Then, on a fresh sandbox each time:

  boundary N   the process dies before writing journal event N (a journal class that
               raises `Killed`, a BaseException nothing in the runner catches, and
               drops what sat in the process's buffer, as kill -9 does: the approach
               of tests/playbook/test_resume.py), for every N of the clean run;
  request K    the process dies while request K is in flight: before it reached the
               tenant, or after the tenant applied it and before the answer came back
               (a transport that raises `Killed`), for every request of the clean run;
  sigkill      a real `python -m soarpack run` against a loopback sandbox, SIGKILLed
               while the tenant holds a write (a delay fault), for every write step
               (`--sigkill`; the resume then runs in process).

After the kill the run is resumed (approving where it waits) until it ends. Checks: it
ends succeeded, and the tenant received each write and destructive request of the
clean run exactly once: none lost, none twice.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from soarpack import errors
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.http.ratelimit import LocalWindows
from soarpack.pack import Pack
from soarpack.playbook import RunResult, approve, resume_run, run_playbook
from soarpack.playbook.journal import Journal
from soarpack.sandbox import (
    InProcessTransport,
    SandboxState,
    create_lacework_edge_app,
    create_metaaccess_app,
    create_netskope_app,
    create_sandbox_app,
    start_server,
)
from soarpack.sandbox.apps import LACEWORK_EDGE_PREFIX, METAACCESS_PREFIX
from tests.faults.common import PYTHON, REPO, TOKEN, child_env

APPS = {
    "netskope": create_netskope_app,
    "netskope_v2": create_netskope_app,
    "metaaccess": create_metaaccess_app,
    "lacework_edge": create_lacework_edge_app,
}
CREDENTIALS = {
    "netskope": {"token": TOKEN},
    "netskope_v2": {"token": TOKEN},
    "metaaccess": {"access_token": TOKEN},
    "lacework_edge": {"api_key": TOKEN, "account": "acme"},
}
BASE_URL = "https://tenant.example.goskope.com"
# Every shipped playbook with the inputs its end-to-end test uses.
CASES: dict[str, dict[str, Any]] = {
    "cross-vendor-response": {
        "lacework_user_uuid": "ex-users-1",
        "lacework_alert_uuid": "ex-alerts-1",
    },
    "lacework-edge-contain-user": {"alert_uuid": "ex-alerts-1", "user_uuid": "ex-users-1"},
    "lacework-edge-revoke-document-sharing": {
        "document_ids": [],  # the tenant's first three documents (`inputs_for`)
        "external_only": True,
        "alert_uuid": "ex-alerts-1",
    },
    "netskope-dlp-alerts-triage": {"timeperiod": 604800, "max_users": 3},
    "unmanaged-device-sweep": {},
}
CHANGING = ("write", "destructive")


def inputs_for(name: str, state: SandboxState) -> dict[str, Any]:
    inputs = dict(CASES[name])
    if "document_ids" in inputs:
        # Two shared (one external and one internal identity each), one shared with nobody.
        documents = state.lacework_edge.store("documents")
        inputs["document_ids"] = [d["identity"]["id"] for d in documents][:3]
    return inputs


class Killed(BaseException):
    """The process died here (nothing may catch this)."""


@dataclass
class PlaybookTotals:
    trials: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    writes_sent: int = 0
    writes_twice: int = 0
    destructive_twice: int = 0
    writes_lost: int = 0
    not_succeeded: int = 0
    in_doubt_left: int = 0
    failures: list[str] = field(default_factory=list)
    failures_allowed: list[str] = field(default_factory=list)  # in doubt, correctly

    def add(self, other: PlaybookTotals) -> None:
        for name in (
            "trials",
            "writes_sent",
            "writes_twice",
            "destructive_twice",
            "writes_lost",
            "not_succeeded",
            "in_doubt_left",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.by_kind.update(other.by_kind)
        self.failures.extend(other.failures)
        self.failures_allowed.extend(other.failures_allowed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "by_kind": dict(sorted(self.by_kind.items())),
            "write_and_destructive_requests_sent": self.writes_sent,
            "write_requests_sent_twice": self.writes_twice,
            "destructive_requests_sent_twice": self.destructive_twice,
            "write_requests_lost": self.writes_lost,
            "runs_not_succeeded": self.not_succeeded,
            "runs_left_in_doubt_after_the_write_arrived": self.in_doubt_left,
            "in_doubt": self.failures_allowed,
            "failures": self.failures,
        }


# -- a sandbox per trial -----------------------------------------------------------------


class Budget:
    """How many journal events the process may still write before it dies."""

    def __init__(self, events: int | None) -> None:
        self.left = events
        self.written = 0


def journal_class(budget: Budget) -> type[Journal]:
    class KilledJournal(Journal):
        on_disk = 0  # bytes the OS has: what survives the process

        def write(self, line: str, *, sync: str = "flush") -> None:
            if budget.left is not None and budget.left <= 0:
                # Like kill -9: what sat in the process's buffer is lost too.
                self._handle.flush()
                os.truncate(self.files.journal, KilledJournal.on_disk)
                raise Killed(json.loads(line)["ev"])
            if budget.left is not None:
                budget.left -= 1
            budget.written += 1
            super().write(line, sync=sync)
            if sync != "buffer":
                KilledJournal.on_disk = self.files.journal.stat().st_size

    return KilledJournal


_COUNTING = threading.Lock()


class KillingTransport(httpx.BaseTransport):
    """Counts requests (all connections); dies before or after sending the K-th."""

    def __init__(self, inner: httpx.BaseTransport, counter: list[int], kill: tuple[int, str]):
        self.inner, self.counter, self.kill = inner, counter, kill

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with _COUNTING:  # parallel steps send from several threads
            self.counter[0] += 1
            mine = self.counter[0]
        number, when = self.kill
        if mine == number and when == "before":
            raise Killed(f"before request {number}")
        response = self.inner.handle_request(request)
        if mine == number and when == "after":
            response.read()
            raise Killed(f"after request {number}")
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass
class Sandbox:
    state: SandboxState
    engine: Engine
    runs: Path
    requests: list[int]

    def close(self) -> None:
        self.engine.close()


def sandbox(pack: Pack, runs: Path, kill: tuple[int, str] = (0, "never")) -> Sandbox:
    state = SandboxState(token=TOKEN)
    counter = [0]
    transports: dict[str, httpx.BaseTransport] = {
        name: KillingTransport(InProcessTransport(app(state)), counter, kill)
        for name, app in APPS.items()
    }
    env: dict[str, str] = {}
    for name in APPS:
        values = {"base_url": BASE_URL, "max_attempts": 3, **CREDENTIALS[name]}
        env.update({f"SOARPACK_{name.upper()}_{k.upper()}": str(v) for k, v in values.items()})
    # A fresh tenant per trial, so fresh rate-limit windows too (not the state dir's,
    # which every trial of the test shares and whose starts the no-op sleep never reaches).
    engine = Engine(
        pack,
        Config(env=env),
        transports=transports,
        sleep=lambda s: None,
        windows=LocalWindows(),
    )
    return Sandbox(state, engine, runs, counter)


def writes(pack: Pack, state: SandboxState) -> list[tuple[str, str]]:
    """(side effect, signature) of every write and destructive request the tenant logged."""
    found: list[tuple[str, str]] = []
    for entry in state.logged_requests():
        action = entry.get("action")
        if not action:
            continue  # Netskope and MetaAccess: the shipped playbooks only read them
        effect = pack.action(str(action)).side_effect
        if effect in CHANGING:
            path = str(entry["path"]).removeprefix(LACEWORK_EDGE_PREFIX)  # loopback mount
            signature = [action, entry["method"], path, _stable(entry.get("body"))]
            found.append((effect, json.dumps(signature, sort_keys=True, default=str)))
    return found


_RUN_ID = re.compile(r"\d{8}T\d{9}-[0-9a-f]{6}")
# Seeded records past the first few get random uuids in every fresh sandbox.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Differ from one run (or tenant) to the next without making it another request.
# (A note's text quotes vendor data read at run time; the note is still one request.)
_VOLATILE = frozenset({"alert_update_time", "note_text"})


def _stable(value: Any) -> Any:
    """A request body without what differs between the reference run and a trial."""
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    if isinstance(value, str):
        return _UUID.sub("<uuid>", _RUN_ID.sub("<run>", value))
    return value


def finish(
    box: Sandbox, run_id: str, journal: type[Journal] = Journal, retry: Sequence[str] = ()
) -> RunResult:
    """Resume `run_id`, approving every step that waits, until the run ends."""
    for _ in range(20):
        result = resume_run(
            run_id,
            engine=box.engine,
            runs_dir_path=box.runs,
            journal_class=journal,
            retry_in_doubt=retry,
        )
        retry = ()
        if result.status != "waiting":
            return result
        for waiting in result.waiting:
            approve(run_id, waiting["step"], by="fault-suite", runs_dir_path=box.runs)
    raise AssertionError(f"run {run_id} still waiting after 20 resumes")


def settle_in_doubt(pack: Pack, box: Sandbox, result: RunResult, ref: Reference) -> RunResult:
    """What the operator does with a write the runner cannot verify: look at the tenant
    (here: its request log) and send it again only if it never arrived."""
    if result.status != "in_doubt" or not isinstance(result.error, errors.InDoubtError):
        return result
    # The shipped playbooks' unverifiable writes are notes, which quote the run id: the
    # operator finds the note in the alert's history, or finds none.
    noted = any(
        result.run_id in json.dumps(entry.get("body"), default=str)
        for entry in box.state.logged_requests()
        if entry.get("action") and entry["method"] != "GET"
    )
    if noted or not ref.writes - Counter(writes(pack, box.state)):
        return result  # it arrived: leaving the run in doubt is the right answer
    return finish(box, result.run_id, retry=tuple(result.error.steps))


def start(box: Sandbox, name: str, journal: type[Journal], ids: list[str]) -> RunResult:
    def on_event(event: dict[str, Any]) -> None:
        if event["ev"] == "run_started":
            ids.append(event["run_id"])

    result = run_playbook(
        name,
        inputs_for(name, box.state),
        engine=box.engine,
        runs_dir_path=box.runs,
        journal_class=journal,
        on_event=on_event,
    )
    if result.status == "waiting":
        for waiting in result.waiting:
            approve(result.run_id, waiting["step"], by="fault-suite", runs_dir_path=box.runs)
        return finish(box, result.run_id, journal)
    return result


@dataclass
class Reference:
    events: int
    requests: int
    writes: Counter[tuple[str, str]]


def reference(pack: Pack, name: str, workdir: Path) -> Reference:
    box = sandbox(pack, workdir / "runs")
    try:
        budget = Budget(None)
        result = start(box, name, journal_class(budget), [])
        assert result.status == "succeeded", result.to_dict()
        return Reference(budget.written, box.requests[0], Counter(writes(pack, box.state)))
    finally:
        box.close()


def check(
    pack: Pack,
    box: Sandbox,
    result: RunResult,
    ref: Reference,
    label: str,
    totals: PlaybookTotals,
) -> None:
    sent = Counter(writes(pack, box.state))
    totals.trials += 1
    totals.writes_sent += sum(sent.values())
    # The same request (action, method, path, body) twice: a change sent again.
    for (effect, signature), count in sent.items():
        if count > 1:
            totals.writes_twice += count - 1
            totals.destructive_twice += (count - 1) * (effect == "destructive")
            totals.failures.append(f"{label}: sent {count} times: {signature}")
    # A request of the clean run the tenant never received: a change lost. A run left in
    # doubt (its unverifiable note arrived) has not sent the steps after it: not lost, the
    # operator decides (see `settle_in_doubt`).
    lost = ref.writes - sent
    if result.status == "in_doubt":
        totals.in_doubt_left += 1
        totals.failures_allowed.append(f"{label}: left in doubt ({result.error})")
        return
    if lost:
        totals.writes_lost += sum(lost.values())
        totals.failures.append(f"{label}: never sent: {sorted(lost)}")
    if result.status != "succeeded":
        totals.not_succeeded += 1
        totals.failures.append(f"{label}: ended {result.status}: {result.error}")


def killed_trial(
    pack: Pack,
    name: str,
    workdir: Path,
    ref: Reference,
    label: str,
    totals: PlaybookTotals,
    events: int | None = None,
    kill: tuple[int, str] = (0, "never"),
) -> None:
    box = sandbox(pack, workdir / label.replace(" ", "-"), kill)
    try:
        ids: list[str] = []
        try:
            result = start(box, name, journal_class(Budget(events)), ids)
        except Killed:
            result = settle_in_doubt(pack, box, finish(box, ids[0]), ref)
        else:
            totals.failures.append(f"{label}: the kill never happened")
        check(pack, box, result, ref, label, totals)
    finally:
        box.close()


# -- real processes, SIGKILLed mid-request -----------------------------------------------


def sigkill_trials(
    pack: Pack, name: str, workdir: Path, ref: Reference, totals: PlaybookTotals
) -> None:
    """For every write action of the playbook: SIGKILL `soarpack run` while the tenant
    holds that action's first request, then resume in process."""
    actions = sorted({json.loads(sig)[0] for _, sig in ref.writes})
    for action in actions:
        label = f"{name} sigkill during {action}"
        root = workdir / label.replace(" ", "-")
        root.mkdir(parents=True)
        state = SandboxState(token=TOKEN)
        state.lacework_edge.faults.push({"delay": 1.5}, match=action)
        with start_server(create_sandbox_app(state)) as server:
            box = Sandbox(state, _loopback_engine(pack, server.base_url), root / "runs", [0])
            try:
                run_id = _run_and_kill(box, name, root, server.base_url)
                totals.by_kind["sigkill_mid_request"] += 1
                # The tenant finishes the held request (it applies the change) first.
                deadline = time.monotonic() + 30
                while state.lacework_edge.faults.pending() or not any(
                    e.get("action") == action and e.get("status") != 499
                    for e in state.logged_requests()
                ):
                    assert time.monotonic() < deadline, f"{label}: the held request never ended"
                    time.sleep(0.02)
                result = settle_in_doubt(pack, box, finish(box, run_id), ref)
                check(pack, box, result, ref, label, totals)
            finally:
                box.close()


def _loopback_env(base_url: str) -> dict[str, str]:
    urls = {
        "netskope": base_url,
        "netskope_v2": base_url,
        "metaaccess": base_url + METAACCESS_PREFIX,
        "lacework_edge": base_url + LACEWORK_EDGE_PREFIX,
    }
    env: dict[str, str] = {}
    for name, url in urls.items():
        values = {"base_url": url, "max_attempts": 3, "max_retry_wait": 5, **CREDENTIALS[name]}
        env.update({f"SOARPACK_{name.upper()}_{k.upper()}": str(v) for k, v in values.items()})
    return env


def _loopback_engine(pack: Pack, base_url: str) -> Engine:
    return Engine(pack, Config(env=_loopback_env(base_url)), sleep=lambda s: None)


def _run_and_kill(box: Sandbox, name: str, root: Path, base_url: str) -> str:
    """Start the run as a process; approve and resume it (as a process) while it waits;
    SIGKILL it once the held request is in flight. Returns the run id."""
    env = child_env(root, SOARPACK_RUNS_DIR=str(box.runs), **_loopback_env(base_url))
    inputs = root / "inputs.json"
    inputs.write_text(json.dumps(inputs_for(name, box.state)), encoding="utf-8")
    command = [PYTHON, "-m", "soarpack", "run", name, "--input-file", str(inputs), "--quiet"]
    for _ in range(5):
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while process.poll() is None and box.state.lacework_edge.faults.pending():
            assert time.monotonic() < deadline, "the held request was never sent"
            time.sleep(0.01)
        if process.poll() is None:
            time.sleep(0.3)  # inside the 1.5 s the tenant holds the request
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            return _only_run(box.runs)
        process.wait()
        run_id = _only_run(box.runs)
        assert process.returncode == 10, f"{name}: exit {process.returncode} before the kill"
        for step in _waiting(box.runs, run_id):
            approve(run_id, step, by="fault-suite", runs_dir_path=box.runs)
        command = [PYTHON, "-m", "soarpack", "run", "--resume", run_id, "--quiet"]
    raise AssertionError(f"{name}: the held request was never reached")


def _only_run(runs: Path) -> str:
    [folder] = [p for p in runs.iterdir() if p.is_dir()]
    return folder.name


def _waiting(runs: Path, run_id: str) -> list[str]:
    from soarpack.playbook.journal import read_events
    from soarpack.playbook.session import waiting_steps

    return sorted(waiting_steps(read_events(runs / run_id / "journal.jsonl")))


# -- the whole suite ---------------------------------------------------------------------


def run_playbook_trials(
    pack: Pack,
    workdir: Path,
    names: list[str] | None = None,
    every: int = 1,
    sigkill: bool = True,
    progress: Callable[[str, PlaybookTotals], None] | None = None,
) -> PlaybookTotals:
    """Every `every`-th boundary and request of each playbook (1: all of them)."""
    totals = PlaybookTotals()
    for name in names or list(CASES):
        folder = workdir / name
        ref = reference(pack, name, folder / "reference")
        for events in range(1, ref.events, every):
            totals.by_kind["journal_boundary"] += 1
            killed_trial(
                pack, name, folder, ref, f"{name} boundary {events}", totals, events=events
            )
        for number in range(1, ref.requests + 1, every):
            for when in ("before", "after"):
                totals.by_kind[f"request_{when}"] += 1
                label = f"{name} request {number} {when}"
                killed_trial(pack, name, folder, ref, label, totals, kill=(number, when))
        if sigkill and ref.writes:
            sigkill_trials(pack, name, folder, ref, totals)
        if progress is not None:
            progress(name, totals)
    return totals
