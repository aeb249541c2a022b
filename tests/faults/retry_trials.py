"""Write steps with `retry:` meeting failures: seeded trials, every request counted.

Each trial runs one playbook of three write steps, each with `retry:` (the default
errors, which include ServerError and TransportError), on a fresh in-process Lacework
Edge tenant:

    note      lacework_edge.alerts.add_note   write, no `verify`
    suspend   lacework_edge.users.suspend      destructive, `verify` reads the user
    ack       lacework_edge.alerts.ack         write, `verify` reads the alert

A transport in front of the tenant fails each step's write request 0-2 times, from
500/502/504, read timeouts, 429, 503, refused connections and connect timeouts: the
ones that may have been processed either before the tenant saw the request or after
it applied it. An operator who finds a step in doubt resends it (`--retry-in-doubt`)
only when the tenant shows the change absent, as the runbook says.

A model of the resend rule predicts, per step, how many requests are sent and how
many the tenant applies: one send, plus one per failure proven not processed, plus
one per failure whose `verify` read found the change absent. Every trial must match
it exactly, and no change may be applied twice or be missing from a run that ended
succeeded.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.playbook import resume_run, run_playbook
from soarpack.sandbox import InProcessTransport, SandboxState, create_lacework_edge_app
from tests.faults.common import TOKEN

BOOK = """
name: retry-trial
description: three writes, each retried on the default errors
steps:
  - id: note
    action: lacework_edge.alerts.add_note
    with: {alert_uuid: ex-alerts-1, note: "checked by soarpack"}
    retry: {max_attempts: 4, delay: 0}
  - id: suspend
    action: lacework_edge.users.suspend
    with: {user_uuid: ex-users-1}
    approval: none
    retry: {max_attempts: 4, delay: 0}
  - id: ack
    action: lacework_edge.alerts.ack
    with: {alert_uuid: ex-alerts-1}
    retry: {max_attempts: 4, delay: 0}
"""
STEPS = ("note", "suspend", "ack")
VERIFIED = frozenset({"suspend", "ack"})
# A failure: when it strikes ("before" the tenant sees the request, or "after" it
# applied it) and what the client gets.
UNKNOWN = ("500", "502", "504", "read_timeout")  # the request may have been processed
NOT_PROCESSED = ("429", "503", "refused", "connect_timeout")  # proven not processed
FAULTS: tuple[tuple[str, str], ...] = (
    *((when, what) for what in UNKNOWN for when in ("before", "after")),
    *(("before", what) for what in NOT_PROCESSED),
)


def _step_of(request: httpx.Request) -> str | None:
    """Which step's write this request is (None: a read or the token exchange)."""
    if request.method == "PATCH" and request.url.path.endswith("/users/ex-users-1"):
        return "suspend"
    if request.method == "POST" and request.url.path.endswith("/investigation_actions"):
        kind = json.loads(request.content)["action"]["action_type"]
        return {2: "note", 1: "ack"}.get(kind)
    return None


class FaultyTenant(httpx.BaseTransport):
    """The tenant behind planned failures; counts each step's sends and applications."""

    def __init__(self, inner: httpx.BaseTransport, plan: dict[str, list[tuple[str, str]]]):
        self.inner = inner
        self.plan = {step: list(faults) for step, faults in plan.items()}
        self.sent: Counter[str] = Counter()
        self.applied: Counter[str] = Counter()
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        step = _step_of(request)
        if step is None:
            return self.inner.handle_request(request)
        with self._lock:
            self.sent[step] += 1
            when, what = self.plan[step].pop(0) if self.plan[step] else ("", "")
        if when != "before":
            response = self.inner.handle_request(request)
            response.read()
            if response.status_code < 300:
                self.applied[step] += 1
            if not when:
                return response
        return _failure(what, request)

    def close(self) -> None:
        self.inner.close()


def _failure(what: str, request: httpx.Request) -> httpx.Response:
    if what == "read_timeout":
        raise httpx.ReadTimeout("no answer in time", request=request)
    if what == "connect_timeout":
        raise httpx.ConnectTimeout("connect timed out", request=request)
    if what == "refused":
        error = httpx.ConnectError("connection failed", request=request)
        error.__cause__ = ConnectionRefusedError(111, "Connection refused")
        raise error
    return httpx.Response(int(what), json={"message": f"injected {what}"})


@dataclass
class Expected:
    """What the resend rule must do with one step's planned failures."""

    sent: int = 0
    applied: int = 0
    resent_not_processed: int = 0
    resent_verified_absent: int = 0
    verified_done: int = 0
    resent_by_operator: int = 0
    left_in_doubt: bool = False  # in doubt, and the tenant has the change: left alone


def model(step: str, faults: list[tuple[str, str]]) -> Expected:
    out = Expected()
    pending = list(faults)
    while True:
        out.sent += 1
        when, what = pending.pop(0) if pending else ("", "")
        if when != "before":
            out.applied += 1
        if not when:
            return out
        if what in NOT_PROCESSED:
            out.resent_not_processed += 1
        elif step in VERIFIED:
            if when == "after":
                out.verified_done += 1
                return out
            out.resent_verified_absent += 1
        elif out.applied:
            out.left_in_doubt = True
            return out
        else:
            out.resent_by_operator += 1


@dataclass
class RetryTotals:
    trials: int = 0
    steps: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    write_requests_sent: int = 0
    resent_not_processed: int = 0
    resent_verified_absent: int = 0
    verified_done: int = 0
    in_doubt_resent_by_operator: int = 0
    in_doubt_left: int = 0
    applied_twice: int = 0
    lost: int = 0
    failures: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "write_steps": self.steps,
            "faults": dict(sorted(self.faults.items())),
            "write_requests_sent": self.write_requests_sent,
            "resent_proven_not_processed": self.resent_not_processed,
            "resent_after_verify_found_it_absent": self.resent_verified_absent,
            "not_resent_verify_found_it_done": self.verified_done,
            "in_doubt_resent_by_the_operator": self.in_doubt_resent_by_operator,
            "in_doubt_left_the_change_was_there": self.in_doubt_left,
            "writes_applied_twice": self.applied_twice,
            "writes_lost": self.lost,
            "failures": self.failures,
        }


def run_retry_trials(pack: Pack, work: Path | None, trials: int, *, seed: int = 0) -> RetryTotals:
    totals = RetryTotals()
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="soarpack-retries-", dir=work) as folder:
        book = Path(folder) / "retry-trial.yaml"
        book.write_text(BOOK, encoding="utf-8")
        for number in range(trials):
            plan = {s: [rng.choice(FAULTS) for _ in range(rng.randint(0, 2))] for s in STEPS}
            client_attempts = rng.choice((1, 3))
            try:
                _trial(pack, book, Path(folder) / f"runs-{number}", plan, client_attempts, totals)
            except Exception as exc:  # a trial's bug is a failure to report, not a crash
                totals.failures.append(f"trial {number} {plan}: {type(exc).__name__}: {exc}")
            totals.trials += 1
    return totals


def _trial(
    pack: Pack,
    book: Path,
    runs: Path,
    plan: dict[str, list[tuple[str, str]]],
    client_attempts: int,
    totals: RetryTotals,
) -> None:
    tenant = FaultyTenant(InProcessTransport(create_lacework_edge_app(SandboxState(TOKEN))), plan)
    values = {
        "base_url": "https://tenant.example.com",
        "api_key": TOKEN,
        "account": "acme",
        "max_attempts": client_attempts,
    }
    env = {f"SOARPACK_LACEWORK_EDGE_{k.upper()}": str(v) for k, v in values.items()}
    engine = Engine(
        pack, Config(env=env), transports={"lacework_edge": tenant}, sleep=lambda s: None
    )
    expected = {step: model(step, plan[step]) for step in STEPS}
    try:
        result = run_playbook(book, engine=engine, runs_dir_path=runs)
        while result.status == "in_doubt":
            assert result.error is not None
            steps = getattr(result.error, "steps", [])
            assert len(steps) == 1 and steps[0] in STEPS, result.to_dict()
            if tenant.applied[steps[0]]:
                break  # the change is there: the operator leaves it (never resends)
            result = resume_run(
                result.run_id, engine=engine, runs_dir_path=runs, retry_in_doubt=steps
            )
    finally:
        engine.close()
    where = f"plan {plan} (client max_attempts {client_attempts})"
    stopped = next((s for s in STEPS if expected[s].left_in_doubt), None)
    ran = STEPS if stopped is None else STEPS[: STEPS.index(stopped) + 1]
    want = "in_doubt" if stopped else "succeeded"
    if result.status != want:
        totals.failures.append(f"{where}: run {result.status}, expected {want}")
    for step in STEPS:
        model_step = expected[step] if step in ran else Expected()
        got = (tenant.sent[step], tenant.applied[step])
        if got != (model_step.sent, model_step.applied):
            totals.failures.append(
                f"{where}: {step} sent/applied {got}, the rule says "
                f"{(model_step.sent, model_step.applied)}"
            )
        totals.applied_twice += tenant.applied[step] > 1
        totals.lost += result.status == "succeeded" and tenant.applied[step] == 0
        totals.write_requests_sent += tenant.sent[step]
        if step in ran:
            totals.steps += 1
            totals.faults.update(f"{w} {f}" for w, f in plan[step][: model_step.sent])
            totals.resent_not_processed += model_step.resent_not_processed
            totals.resent_verified_absent += model_step.resent_verified_absent
            totals.verified_done += model_step.verified_done
            totals.in_doubt_resent_by_operator += model_step.resent_by_operator
            totals.in_doubt_left += model_step.left_in_doubt
