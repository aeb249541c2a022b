"""Every benchmark in one command: a table per benchmark, then one Markdown table for the
README, and with --json one JSON object on stdout (progress and tables go to stderr then).

    .venv/bin/python -m benchmarks            # small sizes, a few minutes on 2 cores
    .venv/bin/python -m benchmarks --json     # one JSON object, for tracking
    .venv/bin/python -m benchmarks --big      # the sizes each benchmark documents
    .venv/bin/python -m benchmarks --scale-out   # also Celery scale-out (~30 s, redis)

Each benchmark is also a module of its own (`python -m benchmarks.<name> --help`):
invoke_overhead, cold_start, iterator_ingest (gzipped pages: soarpack, netskopesdk as
documented and with msgspec, installed on first use into benchmarks/.venv-netskopesdk, and
the floor: http.client, gunzip, write), runner and scale_out. This asserts nothing about
timing.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from benchmarks import cold_start, invoke_overhead, iterator_ingest
from benchmarks import runner as runner_bench

ROOT = Path(__file__).resolve().parent.parent
# (small default, --big) sizes per benchmark.
SIZES: dict[str, tuple[list[str], list[str]]] = {
    "runner": (["--steps", "200", "--items", "200", "--repeat", "3"], []),
    "iterator_ingest": (["--records", "100000"], ["--records", "1000000", "--repeat", "3"]),
}
INVOKE_SIZES = {False: (200, 15), True: (1000, 31)}  # iterations per round, paired rounds
COLD_START_RUNS = {False: 10, True: 30}


def log(message: str) -> None:
    print(f"benchmarks: {message}", file=sys.stderr, flush=True)


def run_all(args: argparse.Namespace) -> dict[str, Any]:
    big = args.big
    iterations, rounds = INVOKE_SIZES[big]
    result: dict[str, Any] = {"python": sys.version.split()[0], "big": big}
    log("invoke overhead ...")
    result["invoke"] = invoke_overhead.run(iterations, rounds)
    log("CLI cold start ...")
    result["cold_start"] = cold_start.run(COLD_START_RUNS[big])
    log("playbook runner ...")
    runner_args = runner_bench.parse_args(SIZES["runner"][big])
    result["runner"] = runner_bench.run(runner_args)
    log("iterator ingest: soarpack, netskopesdk (json, msgspec) and the floor ...")
    ingest_args = iterator_ingest.parse_args(SIZES["iterator_ingest"][big])
    result["iterator_ingest"] = iterator_ingest.run(ingest_args)
    if args.scale_out:
        log("scale-out on Celery ...")
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.scale_out", "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        result["scale_out"] = json.loads(done.stdout)
    result.update(headline(result))
    return result


def headline(r: dict[str, Any]) -> dict[str, Any]:
    """The tracked figures at the top level of the JSON object."""
    return {
        "invoke_overhead_ratio": r["invoke"]["invoke_overhead_ratio"],
        "cold_start_ratio": r["cold_start"]["cold_start_ratio"],
        "ingest_cpu_ratio": r["iterator_ingest"]["cpu_ratio"],
        "runner_overhead_pct": r["runner"]["overhead_pct"],
        "foreach_efficiency": r["runner"]["foreach_efficiency"],
        "ingest_cpu_ms_per_page": r["iterator_ingest"]["cpu_ms_per_page"],
        "ingest_floor_cpu_ms_per_page": r["iterator_ingest"]["floor_cpu_ms_per_page"],
        "ingest_floor_ratio": r["iterator_ingest"]["floor_ratio"],
        "ingest_gzip": r["iterator_ingest"]["gzip"],
        "ingest_sdk_cpu_ratio": r["iterator_ingest"]["cpu_ratio"],
        "ingest_sdk_msgspec_cpu_ratio": r["iterator_ingest"]["netskopesdk_msgspec_cpu_ratio"],
    }


def markdown(r: dict[str, Any], command: str) -> str:
    inv, cold = r["invoke"], r["cold_start"]
    ing, run = r["iterator_ingest"], r["runner"]
    rows = [
        "| Benchmark | soarpack | Reference (same run) | Ratio | Target |",
        "|---|---|---|---|---|",
    ]
    for c in inv["invoke_calls"]:
        rows.append(
            f"| Invoke overhead, {c['action']} | {c['ours_us']:,.0f} µs | "
            f"{c['httpx_us']:,.0f} µs (plain httpx) | {c['ratio']:.2f}x | <= 1.10x |"
        )
    rows.append(
        f"| CLI cold start, `soarpack invoke` (sandbox) | {cold['cold_start_ms']:,.0f} ms | "
        f'{cold["cold_start_import_httpx_ms"]:,.0f} ms (`python -c "import httpx"`) | '
        f"{cold['cold_start_ratio']:.2f}x | <= 1.5x |"
    )
    rows.append(
        "| CLI cold start, both sides without httpx's CLI module (a lean install) | "
        f"{cold['cold_start_lean_ms']:,.0f} ms | "
        f"{cold['cold_start_lean_import_httpx_ms']:,.0f} ms (`import httpx`, lean) | "
        f"{cold['cold_start_lean_ratio']:.2f}x | <= 1.5x |"
    )
    rows += ingest_rows(ing)
    rows.append(
        f"| Playbook runner, {run['steps']:,}-step chain | {run['runner_s'] * 1000:,.0f} ms | "
        f"{run['direct_s'] * 1000:,.0f} ms (direct `engine.invoke` loop) | "
        f"{run['overhead_pct']:+.1f} % | <= 5 % |"
    )
    rows.append(
        f"| for_each efficiency, {run['items']:,} items x {run['latency_ms']:g} ms "
        f"at concurrency {run['concurrency']} | {run['foreach_s'] * 1000:,.0f} ms | "
        f"{run['ideal_s'] * 1000:,.0f} ms (ideal) | {run['foreach_efficiency']:.2f} | >= 0.8 |"
    )
    if "scale_out" in r:
        rows.append("| Scale-out on Celery | see `python -m benchmarks.scale_out` | | | |")
    return "\n".join(
        [
            *rows,
            "",
            f"Python {r['python']}; produced by `{command}`.",
        ]
    )


def ingest_rows(ing: dict[str, Any]) -> list[str]:
    """The four sides of the ingest benchmark: soarpack against each of the other three."""
    what = (
        f"Iterator ingest, CPU per 10k-record page, gzip ({ing['records']:,} records, "
        f"{ing['rounds']} paired rounds)"
    )
    ours = f"{_num(ing['cpu_ms_per_page'])} ms"
    return [
        f"| {what} | {ours} | {_num(ing['netskopesdk_cpu_ms_per_page'])} ms (netskopesdk "
        f"{ing['netskopesdk_version']} as documented: json) | "
        f"{_num(ing['cpu_ratio'], 2)}x less CPU | >= 2x |",
        f"| {what} | {ours} | {_num(ing['netskopesdk_msgspec_cpu_ms_per_page'])} ms "
        f"(netskopesdk + msgspec, raw records) | "
        f"{_num(ing['netskopesdk_msgspec_cpu_ratio'], 2)}x less CPU | |",
        f"| {what} | {ours} | {_num(ing['floor_cpu_ms_per_page'])} ms (floor: http.client, "
        f"gunzip, write; no parsing) | {_num(ing['floor_ratio'], 2)}x the floor | <= 1.5x |",
    ]


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def print_tables(r: dict[str, Any], command: str, out: TextIO) -> None:
    sections = [
        invoke_overhead.render_table(r["invoke"]),
        cold_start.render_table(r["cold_start"]),
        iterator_ingest.render_table(r["iterator_ingest"]),
        runner_bench.render_table(r["runner"]),
    ]
    for section in sections:
        print(section, end="\n\n", file=out)
    if "scale_out" in r:
        print(json.dumps(r["scale_out"], indent=2), end="\n\n", file=out)
    print("## README table\n", file=out)
    print(markdown(r, command), end="\n\n", file=out)
    print(f"command: {command}", file=out)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--big", action="store_true", help="the bigger, documented sizes")
    parser.add_argument(
        "--scale-out", action="store_true", help="also run the Celery scale-out (~30 s, redis)"
    )
    args = parser.parse_args(argv)
    command = " ".join(["python -m benchmarks", *argv])
    started = time.perf_counter()
    try:
        result = run_all(args)
    except (iterator_ingest.BenchError, runner_bench.BenchError, RuntimeError) as exc:
        log(f"failed: {exc}")
        return 1
    result["command"] = command
    result["elapsed_s"] = time.perf_counter() - started
    result["readme_markdown"] = markdown(result, command)
    if args.json:
        print_tables(result, command, sys.stderr)
        print(json.dumps(result, indent=2))
    else:
        print_tables(result, command, sys.stdout)
    log(f"done in {result['elapsed_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
