"""Benchmark: what the playbook runner itself costs, on top of the actions it calls.

Everything runs in this process: the engine's connection talks to an `httpx.MockTransport`
(no sockets), so what is measured is soarpack's own work. The action is
`lacework_edge.posture_profiles.get` (a declared read: GET /api/v1/posture_profiles/{uuid},
one `uuid` input); the Lacework Edge connection has no client-side rate limit, a JWT is
configured so no token login is made, and a MockTransport has no connection pool, so
nothing throttles concurrent requests. The mock answers `{"uuid": "u<n+1>", ...}` to
`.../u<n>`, so a chain of N steps must end at `u<N>` (checked).

1. Runner overhead. A generated N-step playbook (default 1,000) whose steps form one
   chain: each reads `uuid` from the previous step's outputs. The mock answers at once.
   The same N invocations are made directly with `engine.invoke` in a loop, chained the
   same way. overhead_pct = (runner - direct) / direct. The runner's time is the whole
   `run_playbook` call (load, validation, journal, run); the run alone (run_started to
   run_finished) is reported too. Rounds alternate; the median is shown.
2. for_each efficiency. One step looping over N items (default 1,000) at concurrency C
   (default 50; the playbook's own `concurrency` is set to C too) against a mock that
   sleeps L ms (default 50) per request. ideal = items x latency / concurrency;
   foreach_efficiency = ideal / measured. The same fan-out through a plain thread pool
   calling `engine.invoke` is shown for comparison, and the most requests ever in flight.
3. No-op throughput. The chain of part 1 and the loop of part 2 with `Engine.invoke`
   replaced by one that returns at once (no validation, no HTTP): the runner's own ceiling
   in steps (and loop items) per second. Context, not like-for-like: n8n publishes about
   220 workflow executions/s per instance; Orquesta's with-items took 1,566 s for 101
   items in its issue tracker.

Run it with the project venv, from the repository root:

    .venv/bin/python -m benchmarks.runner                 # defaults, < 1 min on 2 cores
    .venv/bin/python -m benchmarks.runner --json          # one JSON object on stdout
    .venv/bin/python -m benchmarks.runner --steps 200 --items 200 --repeat 1

Playbooks and run journals go to a temporary directory (`--keep` keeps it). Progress goes
to stderr. This prints numbers; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from soarpack.config import Config
from soarpack.engine import ActionResult, Engine
from soarpack.pack import Pack
from soarpack.playbook import run_playbook

ACTION = "lacework_edge.posture_profiles.get"
CONNECTION = "lacework_edge"
BASE_URL = "https://bench.api.laceworkedge.example"
SETTINGS_ENV = {
    "SOARPACK_LACEWORK_EDGE_BASE_URL": BASE_URL,
    "SOARPACK_LACEWORK_EDGE_ACCOUNT": "bench",
    # A JWT as-is: no TokenLogin exchange in the measured path.
    "SOARPACK_LACEWORK_EDGE_JWT": "bench-jwt-0123456789",
}

DEFAULT_STEPS = 1000
DEFAULT_ITEMS = 1000
DEFAULT_CONCURRENCY = 50
DEFAULT_LATENCY_MS = 50.0
DEFAULT_REPEAT = 3

OVERHEAD_TARGET_PCT = 5.0  # runner vs direct invokes, at most
FOREACH_TARGET = 0.8  # ideal / measured, at least

N8N_EXECUTIONS_PER_SECOND = 220.0  # n8n's published figure, one instance
ORQUESTA_WITH_ITEMS = (101, 1566.0)  # items, seconds (Orquesta issue tracker)


class BenchError(Exception):
    """A run did not come out as it must; the message says which and why."""


def log(message: str) -> None:
    print(f"runner: {message}", file=sys.stderr, flush=True)


# -- the vendor: an in-process mock --------------------------------------------------------


class MockVendor:
    """Answers GET .../posture_profiles/u<n> with uuid u<n+1>, after `latency` seconds."""

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            return httpx.Response(200, json=profile(request.url.path.rsplit("/", 1)[-1]))
        finally:
            with self._lock:
                self.in_flight -= 1

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


def profile(uuid: str) -> dict[str, Any]:
    """A posture profile valid for the action's output schema; its uuid is the next one."""
    number = int(uuid[1:]) + 1 if uuid[:1] == "u" and uuid[1:].isdigit() else 0
    return {"uuid": f"u{number}", "name": "bench", "platform": 1, "update_time": 1700000000}


def make_engine(pack: Pack, vendor: MockVendor) -> Engine:
    return Engine(pack, Config(env=SETTINGS_ENV), transports={CONNECTION: vendor.transport()})


class InstantEngine(Engine):
    """An engine whose actions return at once: what is left is the runner's own work."""

    def invoke(
        self,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        deadline: float | None = None,
        dry_run: bool = False,
        approval: Mapping[str, Any] | None = None,
    ) -> ActionResult:
        uuid = str((inputs or {}).get("uuid", ""))
        return ActionResult(action, profile(uuid), 0.0)


# -- the playbooks -------------------------------------------------------------------------


def chain_playbook(steps: int) -> str:
    """N steps, each reading the uuid the step before it returned."""
    lines = [
        "name: bench-chain",
        f"description: {steps} chained reads (generated by benchmarks/runner.py).",
        "inputs:",
        "  type: object",
        "  required: [uuid]",
        "  properties: {uuid: {type: string}}",
        "steps:",
    ]
    previous = "inputs.uuid"
    for number in range(steps):
        step = f"s{number:05d}"
        lines += [
            f"  - id: {step}",
            f"    action: {ACTION}",
            f'    with: {{uuid: "${{{{ {previous} }}}}"}}',
            '    outputs: {uuid: "${{ result.uuid }}"}',
        ]
        previous = f"steps.{step}.outputs.uuid"
    lines += ["outputs:", f'  last: "${{{{ {previous} }}}}"', ""]
    return "\n".join(lines)


def loop_playbook(
    concurrency: int,
    *,
    action: str = ACTION,
    name: str = "bench-loop",
    output: tuple[str, str] = ("count", "${{ length(steps.fetch.outputs.uuid) }}"),
) -> str:
    """One step over `inputs.ids`, `concurrency` items at once, calling `action` with each
    id as its `uuid`; the playbook's one output is `output` (name, expression)."""
    return "\n".join(
        [
            f"name: {name}",
            "description: One for_each read step (generated by a benchmark).",
            f"concurrency: {concurrency}",
            "inputs:",
            "  type: object",
            "  required: [ids]",
            "  properties: {ids: {type: array, items: {type: string}}}",
            "steps:",
            "  - id: fetch",
            f"    action: {action}",
            '    for_each: "${{ inputs.ids }}"',
            f"    concurrency: {concurrency}",
            '    with: {uuid: "${{ item }}"}',
            '    outputs: {uuid: "${{ result.uuid }}"}',
            "outputs:",
            f'  {output[0]}: "{output[1]}"',
            "",
        ]
    )


# -- timing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunTiming:
    """One `run_playbook` call: its wall time and the run's own (first to last event)."""

    total_s: float
    run_s: float
    outputs: dict[str, Any]


class Workspace:
    """The temporary directory: playbook files and a fresh runs dir per run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.runs = root / "runs"
        self._count = 0

    def write(self, name: str, text: str) -> Path:
        path = self.root / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    def runs_dir(self) -> Path:
        self._count += 1
        return self.runs / f"{self._count:03d}"


def timed_run(
    workspace: Workspace, playbook: Path, inputs: dict[str, Any], engine: Engine
) -> RunTiming:
    marks: list[float] = []

    def on_event(event: dict[str, Any]) -> None:
        if event["ev"] in ("run_started", "run_finished", "run_paused"):
            marks.append(time.perf_counter())

    started = time.perf_counter()
    result = run_playbook(
        playbook,
        inputs,
        engine=engine,
        runs_dir_path=workspace.runs_dir(),
        on_event=on_event,
    )
    total = time.perf_counter() - started
    if result.status != "succeeded":
        detail = result.error or result.failed_step
        raise BenchError(f"{playbook.name} ended {result.status}: {detail}")
    run = marks[-1] - marks[0] if len(marks) >= 2 else total
    return RunTiming(total, run, dict(result.outputs))


def direct_chain(engine: Engine, steps: int) -> tuple[float, str]:
    uuid = "u0"
    started = time.perf_counter()
    for _ in range(steps):
        uuid = engine.invoke(ACTION, {"uuid": uuid}).data["uuid"]
    return time.perf_counter() - started, uuid


def direct_pool(engine: Engine, ids: list[str], concurrency: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(lambda uuid: engine.invoke(ACTION, {"uuid": uuid}), ids))
    elapsed = time.perf_counter() - started
    if len(results) != len(ids):
        raise BenchError("the thread pool lost results")
    return elapsed


def median(values: list[float]) -> float:
    return statistics.median(values)


# -- the three parts -------------------------------------------------------------------------


def bench_overhead(pack: Pack, workspace: Workspace, args: argparse.Namespace) -> dict[str, Any]:
    steps = args.steps
    path = workspace.write("bench-chain", chain_playbook(steps))
    vendor = MockVendor()
    expected = f"u{steps}"
    with make_engine(pack, vendor) as engine:
        # Warm-up: client built, schemas compiled, code paths imported.
        direct_chain(engine, min(steps, 50))
        timed_run(
            workspace, workspace.write("bench-warm", chain_playbook(5)), {"uuid": "u0"}, engine
        )
        direct: list[float] = []
        runs: list[RunTiming] = []
        for number in range(1, args.repeat + 1):
            log(f"overhead round {number}/{args.repeat}: {steps} direct invokes ...")
            elapsed, last = direct_chain(engine, steps)
            if last != expected:
                raise BenchError(f"the direct chain ended at {last}, not {expected}")
            direct.append(elapsed)
            log(f"overhead round {number}/{args.repeat}: {steps}-step playbook ...")
            timing = timed_run(workspace, path, {"uuid": "u0"}, engine)
            if timing.outputs.get("last") != expected:
                raise BenchError(f"the playbook ended at {timing.outputs}, not {expected}")
            runs.append(timing)
    direct_s = median(direct)
    runner_s = median([r.total_s for r in runs])
    run_s = median([r.run_s for r in runs])
    return {
        "steps": steps,
        "action": ACTION,
        "direct_s": direct_s,
        "runner_s": runner_s,
        "runner_run_s": run_s,
        "runner_setup_s": runner_s - run_s,
        "overhead_pct": (runner_s - direct_s) / direct_s * 100,
        "overhead_run_only_pct": (run_s - direct_s) / direct_s * 100,
        "direct_us_per_step": direct_s / steps * 1e6,
        "runner_us_per_step": runner_s / steps * 1e6,
        "overhead_us_per_step": (runner_s - direct_s) / steps * 1e6,
        "direct_rounds_s": direct,
        "runner_rounds_s": [r.total_s for r in runs],
    }


def bench_foreach(pack: Pack, workspace: Workspace, args: argparse.Namespace) -> dict[str, Any]:
    items, concurrency, latency = args.items, args.concurrency, args.latency_ms / 1000
    path = workspace.write("bench-loop", loop_playbook(concurrency))
    ids = [f"u{i}" for i in range(items)]
    ideal = items * latency / concurrency
    vendor = MockVendor(latency)
    with make_engine(pack, vendor) as engine:
        direct_chain(engine, 1)  # the client is built before timing
        log(
            f"for_each: {items} items at concurrency {concurrency}, {args.latency_ms:g} ms each ..."
        )
        vendor.max_in_flight = 0
        timing = timed_run(workspace, path, {"ids": ids}, engine)
        if timing.outputs.get("count") != items:
            raise BenchError(f"the loop gave {timing.outputs}, not {items} results")
        runner_in_flight = vendor.max_in_flight
        log(f"for_each: the same through a plain thread pool of {concurrency} ...")
        vendor.max_in_flight = 0
        pool_s = direct_pool(engine, ids, concurrency)
        pool_in_flight = vendor.max_in_flight
    return {
        "items": items,
        "concurrency": concurrency,
        "latency_ms": args.latency_ms,
        "ideal_s": ideal,
        "foreach_s": timing.total_s,
        "foreach_run_s": timing.run_s,
        "foreach_efficiency": ideal / timing.total_s,
        "foreach_run_efficiency": ideal / timing.run_s,
        "foreach_max_in_flight": runner_in_flight,
        "thread_pool_s": pool_s,
        "thread_pool_efficiency": ideal / pool_s,
        "thread_pool_max_in_flight": pool_in_flight,
    }


def bench_noop(pack: Pack, workspace: Workspace, args: argparse.Namespace) -> dict[str, Any]:
    steps, items, concurrency = args.steps, args.items, args.concurrency
    chain = workspace.write("bench-chain", chain_playbook(steps))
    loop = workspace.write("bench-loop", loop_playbook(concurrency))
    engine = InstantEngine(pack, Config(env=SETTINGS_ENV))
    with engine:
        chains: list[RunTiming] = []
        for number in range(1, args.repeat + 1):
            log(f"no-op round {number}/{args.repeat}: {steps}-step chain ...")
            timing = timed_run(workspace, chain, {"uuid": "u0"}, engine)
            if timing.outputs.get("last") != f"u{steps}":
                raise BenchError(f"the no-op chain ended at {timing.outputs}")
            chains.append(timing)
        log(f"no-op: {items}-item loop at concurrency {concurrency} ...")
        looped = timed_run(workspace, loop, {"ids": [f"u{i}" for i in range(items)]}, engine)
        if looped.outputs.get("count") != items:
            raise BenchError(f"the no-op loop gave {looped.outputs}, not {items} results")
    total = median([c.total_s for c in chains])
    run = median([c.run_s for c in chains])
    orquesta_items, orquesta_s = ORQUESTA_WITH_ITEMS
    noop_rate = steps / total
    items_rate = items / looped.total_s
    return {
        "noop_steps": steps,
        "noop_chain_s": total,
        "noop_steps_per_second": noop_rate,
        "noop_steps_per_second_run_only": steps / run,
        "noop_us_per_step": total / steps * 1e6,
        "noop_items": items,
        "noop_loop_s": looped.total_s,
        "noop_items_per_second": items_rate,
        "context": {
            "n8n_workflow_executions_per_second": N8N_EXECUTIONS_PER_SECOND,
            "noop_steps_per_second_vs_n8n": noop_rate / N8N_EXECUTIONS_PER_SECOND,
            "orquesta_with_items": {"items": orquesta_items, "seconds": orquesta_s},
            "orquesta_items_per_second": orquesta_items / orquesta_s,
            "orquesta_101_items_at_our_noop_rate_s": orquesta_items / items_rate,
        },
    }


# -- report ------------------------------------------------------------------------------


def report(
    overhead: dict[str, Any],
    foreach: dict[str, Any],
    noop: dict[str, Any],
    args: argparse.Namespace,
) -> dict[str, Any]:
    result: dict[str, Any] = {**overhead, **foreach, **noop}
    # The same per-step cost next to a vendor that takes `latency_ms` to answer (derived).
    slow_step_us = args.latency_ms * 1000 + overhead["direct_us_per_step"]
    result.update(
        {
            "overhead_pct_at_latency_estimate": overhead["overhead_us_per_step"]
            / slow_step_us
            * 100,
            "python": sys.version.split()[0],
            "httpx": httpx.__version__,
            "targets": {
                "overhead_pct_max": OVERHEAD_TARGET_PCT,
                "overhead_met": overhead["overhead_pct"] <= OVERHEAD_TARGET_PCT,
                "foreach_efficiency_min": FOREACH_TARGET,
                "foreach_met": foreach["foreach_efficiency"] >= FOREACH_TARGET,
            },
        }
    )
    return result


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def render_table(r: dict[str, Any]) -> str:
    t, c = r["targets"], r["context"]

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    rows: list[tuple[str, str]] = [
        (f"1. runner overhead: {r['steps']:,}-step chain of {r['action']}, instant mock", ""),
        (
            "  direct engine.invoke loop",
            f"{_ms(r['direct_s'])}  ({r['direct_us_per_step']:,.0f} µs/step)",
        ),
        (
            "  run_playbook, whole call",
            f"{_ms(r['runner_s'])}  ({r['runner_us_per_step']:,.0f} µs/step)",
        ),
        ("    of which load + validate", _ms(r["runner_setup_s"])),
        ("    of which the run", _ms(r["runner_run_s"])),
        ("  overhead", f"{r['overhead_pct']:+.1f} %  ({r['overhead_us_per_step']:,.0f} µs/step)"),
        ("  overhead, the run only", f"{r['overhead_run_only_pct']:+.1f} %"),
        (
            f"  the same µs/step next to a {r['latency_ms']:g} ms vendor (derived)",
            f"{r['overhead_pct_at_latency_estimate']:+.1f} %",
        ),
        (
            f"2. for_each: {r['items']:,} items, concurrency {r['concurrency']}, "
            f"{r['latency_ms']:g} ms latency",
            "",
        ),
        ("  ideal (items x latency / concurrency)", _ms(r["ideal_s"])),
        (
            "  run_playbook, whole call",
            f"{_ms(r['foreach_s'])}  efficiency {r['foreach_efficiency']:.2f}",
        ),
        (
            "  the run only",
            f"{_ms(r['foreach_run_s'])}  efficiency {r['foreach_run_efficiency']:.2f}",
        ),
        ("  most requests in flight", str(r["foreach_max_in_flight"])),
        (
            "  plain thread pool of engine.invoke",
            f"{_ms(r['thread_pool_s'])}  efficiency {r['thread_pool_efficiency']:.2f}"
            f"  (in flight: {r['thread_pool_max_in_flight']})",
        ),
        ("3. no-op steps (engine.invoke returns at once)", ""),
        (
            f"  {r['noop_steps']:,}-step chain",
            f"{_ms(r['noop_chain_s'])}  {r['noop_steps_per_second']:,.0f} steps/s "
            f"({r['noop_us_per_step']:,.0f} µs/step; run only "
            f"{r['noop_steps_per_second_run_only']:,.0f}/s)",
        ),
        (
            f"  {r['noop_items']:,}-item for_each, concurrency {r['concurrency']}",
            f"{_ms(r['noop_loop_s'])}  {r['noop_items_per_second']:,.0f} items/s",
        ),
        (
            "  context: n8n (workflow executions/s)",
            f"{c['n8n_workflow_executions_per_second']:g}/s; our no-op steps/s is "
            f"{c['noop_steps_per_second_vs_n8n']:.1f}x that (not like-for-like)",
        ),
        (
            "  context: Orquesta with-items",
            f"{c['orquesta_with_items']['items']} items in {c['orquesta_with_items']['seconds']:,.0f} s "
            f"({c['orquesta_items_per_second']:.3f}/s); 101 no-op items here: "
            f"{c['orquesta_101_items_at_our_noop_rate_s'] * 1000:,.1f} ms",
        ),
    ]
    width = max(len(label) for label, value in rows if value)
    lines = [
        f"playbook runner benchmark (Python {r['python']}, httpx {r['httpx']}, in-process mock)"
    ]
    for label, value in rows:
        lines.append(f"{label.ljust(width)}  {value}".rstrip() if value else label)
    lines += [
        "",
        "targets:",
        f"  overhead <= {OVERHEAD_TARGET_PCT:g} %: {r['overhead_pct']:+.1f} %, "
        f"{verdict(t['overhead_met'])}",
        f"  for_each efficiency >= {FOREACH_TARGET:g}: {r['foreach_efficiency']:.2f}, "
        f"{verdict(t['foreach_met'])}",
    ]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.runner",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--steps", type=int, default=DEFAULT_STEPS, help=f"chain length (default {DEFAULT_STEPS:,})"
    )
    parser.add_argument(
        "--items",
        type=int,
        default=DEFAULT_ITEMS,
        help=f"for_each items (default {DEFAULT_ITEMS:,})",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"for_each concurrency (default {DEFAULT_CONCURRENCY})",
    )
    parser.add_argument(
        "--latency-ms",
        type=float,
        default=DEFAULT_LATENCY_MS,
        help=f"simulated latency per request in part 2 (default {DEFAULT_LATENCY_MS:g})",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_REPEAT,
        metavar="N",
        help=f"rounds of parts 1 and 3, the median shown (default {DEFAULT_REPEAT})",
    )
    parser.add_argument("--keep", action="store_true", help="keep the playbooks and journals")
    args = parser.parse_args(argv)
    for name in ("steps", "items", "concurrency", "repeat"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.latency_ms <= 0:
        parser.error("--latency-ms must be positive")
    return args


def run(args: argparse.Namespace, pack: Pack | None = None) -> dict[str, Any]:
    pack = pack or Pack.load()
    root = Path(tempfile.mkdtemp(prefix="bench-runner-"))
    workspace = Workspace(root)
    try:
        overhead = bench_overhead(pack, workspace, args)
        foreach = bench_foreach(pack, workspace, args)
        noop = bench_noop(pack, workspace, args)
        return report(overhead, foreach, noop, args)
    finally:
        if args.keep:
            log(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        result = run(args)
    except BenchError as exc:
        log(str(exc))
        return 1
    print(json.dumps(result, indent=2) if args.json else render_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
