"""Seeded fault trials of the checkpointed ingest against the simulated tenant.

A trial follows one or two streams with a fresh index: small streams (tens of records)
and pages of 3 to 12, so a trial is a handful of pages. Runs of the ingest, each with
faults drawn from the trial's seed, are repeated (a restart) until a run ends caught
up; then the sink's files are compared with the tenant's records: every position
exactly once, in order, every line whole JSON.

Faults, drawn per request by `FaultyTransport` (in front of the in-process sandbox):

    before the tenant processes the request (queued as sandbox faults, `faults.py`):
        5xx, 429 with Retry-After, timeout (a delay past the client's read timeout:
        in process the tenant's handler is cancelled), truncated or HTML body
    after the tenant processed it (its cursor moved):
        the answer is lost (read timeout) or cut off (truncated JSON)
    the process crashes before or after the tenant processed the request

per page, by `FaultySink`: the write fails after a torn part of the page reached the
file, the commit (fsync) fails, a crash mid-write, a crash once the page is durable but
before the checkpoint says so; per wait (retry backoff): a crash. Between runs new
records may arrive.

An in-process crash is an exception nothing in the ingest handles: the run ends where
it was, leaving files and checkpoint as they are, and the next run is the restart.
A share of trials (`kill_share`) starts with a real process instead (`ingest_child`),
SIGKILLed mid-write, after the sink's commit, in a wait, or mid-request (the tenant
holds the request with a delay fault and finishes it after the kill); the restarts
then run in process.

Waits never really wait: the Engine's sleep (client retries) and the ingest's wait
(backoff, Retry-After, wait_time) are injected and only recorded.
"""

from __future__ import annotations

import itertools
import json
import random
import shutil
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.ingest import Ingest, IngestOptions, JsonLinesSink, SinkError
from soarpack.ingest.identity import default_index
from soarpack.ingest.sinks import Record, Sink
from soarpack.netskope.dataexport import stream_path
from soarpack.pack import Pack
from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app, start_server
from soarpack.sandbox.netskope.events import record_kind, record_position
from soarpack.sandbox.shared.faults import Fault
from soarpack.sandbox.shared.server import RunningServer
from tests.faults.common import PYTHON, REPO, TOKEN, child_env, v2_env

STREAMS = ("events/page", "alerts/dlp", "events/network", "alerts/malware")
# Client read timeout in process, and the delay that outlasts it.
READ_TIMEOUT = 0.05
TIMEOUT_DELAY = 0.15
# After this many faulty runs the rest of a trial runs without faults, so it always ends.
FAULTY_RUNS = 8
MAX_RUNS = 30
# A fresh tenant every so many trials keeps its streams small (records arrive in trials).
TRIALS_PER_TENANT = 25

REQUEST_FAULTS = (
    "5xx",
    "429",
    "timeout",
    "malformed",
    "html",
    "lost_answer",
    "cut_answer",
    "crash_before_send",
    "crash_after_send",
)
SINK_FAULTS = ("write_fails", "commit_fails", "crash_mid_write", "crash_after_commit")
KILL_POINTS = ("write", "commit", "wait", "mid_request")


class Dice:
    """Seeded generators, one per key (a stream, a thread), so that two streams' threads
    interleaving differently from one run to the next still draw the same faults."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self._made: dict[str, random.Random] = {}
        self._lock = threading.Lock()

    def __call__(self, key: str) -> random.Random:
        with self._lock:
            if key not in self._made:
                self._made[key] = random.Random(f"{self.seed}:{key}")
            return self._made[key]


class Crash(Exception):
    """The process died here (in process: nothing in the ingest handles this)."""


@dataclass
class Totals:
    trials: int = 0
    sigkill_trials: int = 0
    sigkills: int = 0  # of those, the ones whose process was SIGKILLed (not finished first)
    runs: int = 0
    records_expected: int = 0
    records_lost: int = 0
    records_duplicated: int = 0
    lines_corrupt: int = 0
    out_of_order: int = 0
    premature_caught_up: int = 0
    injected: Counter[str] = field(default_factory=Counter)
    waited_seconds: float = 0.0  # what the injected waits would have slept
    failures: list[str] = field(default_factory=list)

    def add(self, other: Totals) -> None:
        for name in (
            "trials",
            "sigkill_trials",
            "sigkills",
            "runs",
            "records_expected",
            "records_lost",
            "records_duplicated",
            "lines_corrupt",
            "out_of_order",
            "premature_caught_up",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.injected.update(other.injected)
        self.waited_seconds += other.waited_seconds
        self.failures.extend(other.failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "trials": self.trials,
            "sigkill_trials": self.sigkill_trials,
            "sigkills": self.sigkills,
            "runs": self.runs,
            "records_expected": self.records_expected,
            "records_lost": self.records_lost,
            "records_duplicated": self.records_duplicated,
            "lines_corrupt": self.lines_corrupt,
            "out_of_order": self.out_of_order,
            "premature_caught_up": self.premature_caught_up,
            "injected": dict(sorted(self.injected.items())),
            "waited_seconds_not_slept": round(self.waited_seconds, 1),
            "failures": self.failures,
        }


# -- fault injectors ---------------------------------------------------------------------


class FaultyTransport(httpx.BaseTransport):
    """The sandbox's transport with faults drawn per request from a seeded generator.

    Requests go through one at a time: the sandbox's fault queue is shared, and a
    fault queued for this request must be the one this request takes.
    """

    def __init__(self, inner: httpx.BaseTransport, state: SandboxState) -> None:
        self.inner, self.state = inner, state
        self.dice, self.rate = Dice(""), 0.0
        self.injected: Counter[str] = Counter()
        self._lock = threading.Lock()

    def configure(self, dice: Dice, rate: float) -> None:
        """The faults of the next run (between runs, nothing is in flight)."""
        self.dice, self.rate = dice, rate

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            rng = self.dice(request.url.path)
            kind = rng.choice(REQUEST_FAULTS) if rng.random() < self.rate else None
            if kind is not None:
                self.injected[kind] += 1
            queued = self._sandbox_fault(kind, rng)
            if queued is not None:
                self.state.faults.push(queued)
            if kind == "crash_before_send":
                raise Crash(kind)
            response = self.inner.handle_request(request)
            if kind == "crash_after_send":
                raise Crash(kind)
            if kind == "lost_answer":
                raise httpx.ReadTimeout("the answer was lost on the way back", request=request)
            if kind == "cut_answer":
                body = response.read()
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    content=body[: rng.randrange(max(len(body), 1))],
                )
            return response

    def _sandbox_fault(self, kind: str | None, rng: random.Random) -> Fault | None:
        if kind == "5xx":
            return {"status": rng.choice((500, 502, 503, 504))}
        if kind == "429":
            return {"status": 429, "retry_after": rng.randint(1, 30)}
        if kind == "timeout":
            return {"delay": TIMEOUT_DELAY}
        if kind == "malformed":
            return {"malformed": True}
        if kind == "html":
            return {"html": True}
        return None

    def close(self) -> None:
        """The tenant's transport outlives the Engine (closed with the tenant)."""


class FaultySink:
    """A JsonLinesSink whose writes and commits fail or crash, drawn per page."""

    exactly_once = True

    def __init__(
        self, inner: JsonLinesSink, rng: random.Random, rate: float, injected: Counter[str]
    ):
        self.inner, self.rng, self.rate, self.injected = inner, rng, rate, injected
        self._fault: str | None = None

    def position(self) -> dict[str, Any]:
        return self.inner.position()

    def write(self, records: Sequence[Record]) -> None:
        self._fault = self.rng.choice(SINK_FAULTS) if self.rng.random() < self.rate else None
        if self._fault is not None:
            self.injected[self._fault] += 1
        if self._fault in ("write_fails", "crash_mid_write"):
            # A torn write: part of the page is on disk (durably) when the failure hits.
            self.inner.write(records[: self.rng.randrange(len(records) + 1)])
            self.inner.commit()
            if self._fault == "write_fails":
                raise SinkError("disk full (injected)")
            raise Crash(self._fault)
        self.inner.write(records)

    def commit(self) -> dict[str, Any]:
        if self._fault == "commit_fails":
            raise SinkError("fsync failed (injected)")
        position = self.inner.commit()
        if self._fault == "crash_after_commit":
            raise Crash(self._fault)
        return position

    def rollback(self, position: dict[str, Any]) -> None:
        self.inner.rollback(position)

    def close(self) -> None:
        self.inner.close()


class Waits:
    """The ingest's wait, injected: records the seconds, may crash, never sleeps."""

    def __init__(self, dice: Dice, crash_rate: float, injected: Counter[str]) -> None:
        self.dice, self.crash_rate, self.injected = dice, crash_rate, injected
        self.seconds = 0.0

    def __call__(self, stopping: threading.Event, seconds: float) -> bool:
        self.seconds += seconds
        # One worker thread per stream: its own generator.
        if self.dice(threading.current_thread().name).random() < self.crash_rate:
            self.injected["crash_in_wait"] += 1
            raise Crash("wait")
        return stopping.is_set()


class Sleeps:
    """The Engine's sleep (client retries), injected: records, never sleeps."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __call__(self, seconds: float) -> None:
        self.seconds += seconds


# -- one tenant, many trials -------------------------------------------------------------


class Tenant:
    """A simulated tenant shared by consecutive trials (each with its own index)."""

    def __init__(self, pack: Pack, seed: int) -> None:
        self.state = SandboxState(
            token=TOKEN, seed=seed, events_per_type=30, page_size=7, v2_rate_limit=False
        )
        self.transport = InProcessTransport(create_netskope_app(self.state))
        self.faulty = FaultyTransport(self.transport, self.state)
        self.sleeps = Sleeps()
        env = v2_env(
            "https://tenant.example.goskope.com",
            max_attempts=random.Random(seed).randint(1, 3),
            read_timeout=READ_TIMEOUT,
            max_retry_wait=60,
        )
        # One Engine (one HTTP client) for the tenant's trials: a restart is a new Ingest
        # (checkpoint, lock and sink read afresh); the client keeps nothing of a run.
        self.engine = Engine(
            pack, Config(env=env), transports={"netskope_v2": self.faulty}, sleep=self.sleeps
        )
        self._server: RunningServer | None = None
        self._server_cm: Any = None

    def base_url(self) -> str:
        """The tenant over loopback HTTP, for real processes (started on first use)."""
        if self._server is None:
            self._server_cm = start_server(create_netskope_app(self.state))
            self._server = self._server_cm.__enter__()
        assert self._server is not None
        return str(self._server.base_url)

    def close(self) -> None:
        self.engine.close()
        self.transport.close()
        if self._server_cm is not None:
            self._server_cm.__exit__(None, None, None)


@dataclass
class Trial:
    number: int
    seed: str
    rng: random.Random
    streams: list[str]
    page_size: int
    index: str | None  # explicit for one stream; several use their default indexes
    root: Path
    request_rate: float
    sink_rate: float
    wait_crash_rate: float

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def out(self) -> Path:
        return self.root / "out"


def plan_trial(seed: int, number: int, workdir: Path) -> Trial:
    text = f"ingest:{seed}:{number}"
    rng = random.Random(text)
    count = 2 if rng.random() < 0.2 else 1
    return Trial(
        number=number,
        seed=text,
        rng=rng,
        streams=rng.sample(STREAMS, count),
        page_size=rng.randint(3, 12),
        index=f"trial-{seed}-{number}" if count == 1 else None,
        root=workdir / f"trial-{number}",
        request_rate=rng.uniform(0.15, 0.5),
        sink_rate=rng.uniform(0.0, 0.3),
        wait_crash_rate=rng.uniform(0.0, 0.15),
    )


def run_trial(pack: Pack, tenant: Tenant, trial: Trial, sigkill: bool) -> Totals:
    """One trial: (a killed real process, then) runs until caught up, then the check."""
    totals = Totals(trials=1, sigkill_trials=int(sigkill))
    state = tenant.state
    state.page_size = trial.page_size
    if sigkill:
        point = trial.rng.choice(KILL_POINTS)
        totals.injected[f"sigkill_{point}"] += 1
        killed_run(tenant, trial, point, totals)
        totals.runs += 1
    arrived = False
    for run_number in range(MAX_RUNS):
        if trial.rng.random() < 0.3:
            arrived = True
            for stream in trial.streams:
                state.append_events(stream, trial.rng.randint(1, 8))
            totals.injected["records_arrive"] += 1
        faulty = run_number < FAULTY_RUNS
        results = in_process_run(pack, tenant, trial, faulty, totals)
        totals.runs += 1
        if all(r.stopped == "caught_up" for r in results):
            break
    else:
        totals.failures.append(f"trial {trial.number}: not caught up after {MAX_RUNS} runs")
    # The next scheduled run, without faults: what it still finds was not lost. A run that
    # ends on a page served before new records arrived (a resend after a crash) says it is
    # caught up and the next run reads them; without new records, it had no business to.
    late = sum(r.records for r in in_process_run(pack, tenant, trial, False, totals))
    totals.runs += 1
    if late and arrived:
        totals.injected["stale_caught_up_then_read"] += 1
    elif late:
        totals.premature_caught_up += 1
        totals.failures.append(
            f"trial {trial.number}: a run said caught up, the next one read {late} records"
        )
    check_sink(state, trial, totals)
    return totals


def in_process_run(
    pack: Pack, tenant: Tenant, trial: Trial, faulty: bool, totals: Totals
) -> list[Any]:
    injected = totals.injected
    dice = Dice(f"{trial.seed}:run{totals.runs}")
    tenant.faulty.configure(dice, trial.request_rate if faulty else 0.0)
    tenant.faulty.injected.clear()
    slept = tenant.sleeps.seconds
    waits = Waits(dice, trial.wait_crash_rate if faulty else 0.0, injected)
    sink_rate = trial.sink_rate if faulty else 0.0

    def sink(stream: str) -> Sink:
        rng = dice(f"sink:{stream}")
        return FaultySink(JsonLinesSink(trial.out, stream), rng, sink_rate, injected)

    job = Ingest(
        tenant.engine.session("netskope.dataexport.ingest"),
        IngestOptions(
            streams=list(trial.streams),
            state_dir=trial.state_dir,
            sink_factory=sink,
            index=trial.index,
            until_caught_up=True,
            page_size=trial.page_size,
        ),
        wait=waits,
    )
    results = job.run()
    injected.update(tenant.faulty.injected)
    totals.waited_seconds += tenant.sleeps.seconds - slept + waits.seconds
    return results


def check_sink(state: SandboxState, trial: Trial, totals: Totals) -> None:
    """Every record of the tenant's streams in the files once, in order, whole."""
    for stream in trial.streams:
        expected = state.streams[stream].count
        found: list[int] = []
        prefix = stream.replace("/", "_")
        for path in sorted(trial.out.glob(f"{prefix}-*.jsonl")):
            for line in path.read_bytes().splitlines():
                try:
                    record_id = json.loads(line)["_id"]
                    assert record_kind(record_id) == stream
                    found.append(record_position(record_id))
                except (ValueError, KeyError, TypeError, AssertionError):
                    totals.lines_corrupt += 1
        unique = set(found)
        lost = len(set(range(expected)) - unique)
        duplicated = len(found) - len(unique)
        disordered = sum(1 for a, b in itertools.pairwise(found) if b <= a)
        totals.records_expected += expected
        totals.records_lost += lost
        totals.records_duplicated += duplicated
        totals.out_of_order += disordered
        if lost or duplicated or disordered or totals.lines_corrupt:
            totals.failures.append(
                f"trial {trial.number} {stream}: {lost} lost, {duplicated} duplicated, "
                f"{disordered} out of order, {totals.lines_corrupt} corrupt lines "
                f"(expected {expected}, files hold {len(found)})"
            )


# -- a real process, SIGKILLed -----------------------------------------------------------


def killed_run(tenant: Tenant, trial: Trial, point: str, totals: Totals) -> None:
    """The trial's first run as a real process that is SIGKILLed at `point`."""
    rng, state = trial.rng, tenant.state
    base_url = tenant.base_url()
    pages = max(1, state.streams[trial.streams[0]].count // trial.page_size)
    # What the tenant answers the child's first requests: faults before processing, or
    # none (a zero delay), and a timeout that the tenant finishes after the client gave up.
    script: list[Fault] = []
    for _ in range(rng.randint(0, 6)):
        kind = rng.choice(("none", "none", "5xx", "429", "malformed", "html", "timeout"))
        if kind != "none":
            totals.injected[f"child_{kind}"] += 1
        choices: dict[str, Fault] = {
            "none": {"delay": 0},
            "5xx": {"status": rng.choice((500, 502, 503, 504))},
            "429": {"status": 429, "retry_after": 1},
            "malformed": {"malformed": True},
            "html": {"html": True},
            "timeout": {"delay": 0.4},
        }
        script.append(choices[kind])
    kill: dict[str, Any] | None = None
    hold_at: int | None = None
    if point == "mid_request":
        hold_at = len(script)
        script.append({"delay": 0.3})
    elif point == "wait":
        # Full pages ask for no wait: the kill lands in the backoff after a failure.
        script.insert(0, {"status": rng.choice((500, 502, 504))})
        kill = {"at": point, "nth": 1}
    else:
        # Every page is written and committed, the last (short) one too.
        kill = {"at": point, "nth": rng.randint(1, pages)}
    state.faults.clear()
    for fault in script:
        state.faults.push(fault)
    spec = {
        "base_url": base_url,
        "state_dir": str(trial.state_dir),
        "out": str(trial.out),
        "index": trial.index,
        "streams": trial.streams,
        "page_size": trial.page_size,
        "kill": kill,
    }
    trial.root.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [PYTHON, "-m", "tests.faults.ingest_child", json.dumps(spec)],
        cwd=REPO,
        env=child_env(trial.root),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        if hold_at is not None:
            after = len(script) - hold_at - 1
            deadline = time.monotonic() + 60
            # The held request has taken its fault once the queue is down to what follows it.
            while len(state.faults) > after and process.poll() is None:
                assert time.monotonic() < deadline, "the child never sent the held request"
                time.sleep(0.005)
            if process.poll() is None:
                time.sleep(rng.uniform(0.0, 0.15))  # inside the 0.2 s read timeout
                process.send_signal(signal.SIGKILL)
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode == -signal.SIGKILL:
        totals.sigkills += 1
    elif process.returncode != 0:
        totals.failures.append(
            f"trial {trial.number}: the child failed ({process.returncode}): {err.decode()[-500:]}"
        )
    # The tenant finishes what the dead process had in flight before anyone restarts.
    state.faults.clear()
    for stream in trial.streams:
        wait_idle(tenant, trial.index or default_index(trial.state_dir, stream), stream)


def wait_idle(tenant: Tenant, index: str, stream: str, timeout: float = 10) -> None:
    """Until the tenant answers a `resend` (which moves nothing) with anything but 409."""
    url = httpx.URL("https://tenant.example" + stream_path(stream))
    request = httpx.Request(
        "GET",
        url.copy_merge_params({"index": index, "operation": "resend"}),
        headers={"Netskope-Api-Token": TOKEN},
    )
    deadline = time.monotonic() + timeout
    # Straight to the transport: a client would close the tenant's shared transport.
    while tenant.transport.handle_request(request).status_code == 409:
        assert time.monotonic() < deadline, "the tenant never finished the held request"
        time.sleep(0.01)


# -- the whole suite ---------------------------------------------------------------------


def run_ingest_trials(
    pack: Pack,
    workdir: Path,
    trials: int,
    seed: int = 0,
    kill_share: float = 0.1,
    keep: bool = False,
    progress: Any = None,
) -> Totals:
    """`trials` seeded trials; every `round(1 / kill_share)`-th one starts with a SIGKILL."""
    totals = Totals()
    every = max(1, round(1 / kill_share)) if kill_share > 0 else 0
    tenant: Tenant | None = None
    try:
        for number in range(trials):
            if number % TRIALS_PER_TENANT == 0:
                if tenant is not None:
                    tenant.close()
                tenant = Tenant(pack, seed=seed * 1000 + number)
            assert tenant is not None
            trial = plan_trial(seed, number, workdir)
            sigkill = every > 0 and number % every == every - 1
            totals.add(run_trial(pack, tenant, trial, sigkill))
            if not keep:
                shutil.rmtree(trial.root, ignore_errors=True)
            if progress is not None:
                progress(number + 1, totals)
    finally:
        if tenant is not None:
            tenant.close()
    return totals
