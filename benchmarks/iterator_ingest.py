"""Benchmark: soarpack's Netskope iterator ingest, netskopesdk's iterator client, and the
floor under both, reading the same gzipped pages.

What it measures. Four clients follow the REST v2 data-export iterator (events/page) of
the simulator (`soarpack sandbox serve --no-rate-limit`, a separate process on
127.0.0.1, answering gzip when asked, as tenants do), each from its own iterator index,
so all read the same records, and each writes them to a file, fsynced after every page
as soarpack's sink does (ingest_children.py has the four loops):

- soarpack: `soarpack ingest netskope --type events/page --until-caught-up --out DIR`,
  the CLI as users run it, client-side limiter left out (`--client-rate-limit` keeps it);
- netskopesdk (pinned, in its own venv) as its documentation uses it: `res.json()`,
  one `json.dumps(record)` line per record;
- netskopesdk with msgspec: the same loop, the page split into raw records by msgspec
  and written as they came: the best parsing a user could add;
- the floor: the same pages read with `http.client`, gunzipped with soarpack's inflate
  (ISA-L) and written, with no parsing at all.

How. Each run is its own process; `os.wait4` gives its CPU time (user + sys) and peak
RSS. Per round, every side runs (in an order rotated each round) a full run from a
fresh index, then a start-up baseline: the same command on the now caught-up index,
subtracted to give the loop's own cost. The ratios are paired: taken within each round,
then the median over rounds; each side's figures are from its median round. A half run
(half the pages) of soarpack and of the documented SDK shows whether memory is flat.
Outputs are checked to hold the same records, and the simulator's own request log that
every side's pages were served gzipped.

    python -m benchmarks.iterator_ingest                      # 200,000 records, 3 rounds
    python -m benchmarks.iterator_ingest --records 1000000    # the 1,000,000-record run
    python -m benchmarks.iterator_ingest --json               # one JSON object on stdout

netskopesdk is installed on first use into `benchmarks/.venv-netskopesdk`, a venv made
from the project's interpreter. Progress goes to stderr; `--keep` keeps the work dir.
This prints numbers; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.ingest_sides import (
    PAGE_SIZE,
    SDK_VERSION,
    BenchError,
    Measured,
    OutputSummary,
    Side,
    child_env,
    ensure_sdk_python,
    gzip_answers,
    log,
    run_measured,
    simulator,
    summarize_output,
    warm_up,
)
from benchmarks.ingest_table import render_table

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PROJECT_PYTHON = VENV_PYTHON if VENV_PYTHON.exists() else Path(sys.executable)
SDK_VENV = HERE / ".venv-netskopesdk"
DEFAULT_RECORDS = 200_000
DEFAULT_ROUNDS = 3

CPU_TARGET_MS = 25.0  # per 10,000-record page
CPU_RATIO_TARGET = 2.0  # netskopesdk's CPU (documented use) / ours
FLOOR_RATIO_TARGET = 1.5  # our CPU / the floor's
FLAT_TOLERANCE = 0.10  # the full run's peak RSS may exceed the half run's by this much

__all__ = ["BenchError", "main", "parse_args", "render_table", "run"]


@dataclass(frozen=True)
class Round:
    """A full run and its start-up baseline (the same command on the caught-up index)."""

    full: Measured
    baseline: Measured

    @property
    def net_cpu_s(self) -> float:
        return self.full.cpu_s - self.baseline.cpu_s


@dataclass
class SideResult:
    side: Side
    rounds: list[Round] = dataclasses.field(default_factory=list)
    half: Measured | None = None
    output: OutputSummary | None = None

    @property
    def median(self) -> Round:
        """The round with the median net CPU time (the lower middle one for an even count)."""
        ordered = sorted(self.rounds, key=lambda r: r.net_cpu_s)
        return ordered[(len(ordered) - 1) // 2]


@dataclass(frozen=True)
class Runner:
    """Runs one side's children against the simulator and measures them."""

    side: Side
    base_url: str
    env: dict[str, str]
    work: Path
    args: argparse.Namespace

    def measure(self, name: str, index: str, out: Path, max_pages: int | None) -> Measured:
        # The floor asks for as many pages as the others read: every full one, then the
        # short (here empty) one that tells them they are caught up.
        requests = 1 if "baseline" in name else self.args.records // PAGE_SIZE + 1
        cmd = self.side.command(self.base_url, index, out, max_pages, requests)
        log(f"{self.side.label}: {name} run ...")
        measured = run_measured(
            f"{self.side.kind}-{name}", cmd, self.env, self.work, self.args.timeout, self.side.parse
        )
        return dataclasses.replace(measured, index=index)

    def round(self, number: int) -> tuple[Round, OutputSummary | None]:
        """Every record from a fresh index, then the baseline on that caught-up index; what
        was written is read back in round 1 only (the floor's pages take a while)."""
        index = f"bench-{self.side.kind}-{secrets.token_hex(4)}"
        out = self.work / f"{self.side.kind}-full-{number}"
        full = self.measure(f"full-{number}", index, out, None)
        baseline = self.measure(f"baseline-{number}", index, out, None)
        output = summarize_output(out) if number == 1 else None
        if not self.args.keep:
            shutil.rmtree(out)
        return Round(full, baseline), output

    def half(self) -> Measured:
        index = f"bench-{self.side.kind}-{secrets.token_hex(4)}-half"
        out = self.work / f"{self.side.kind}-half"
        half = self.measure("half", index, out, max(1, self.args.records // PAGE_SIZE // 2))
        if not self.args.keep:
            shutil.rmtree(out)
        return half


def run_sides(runners: list[Runner], rounds: int) -> list[SideResult]:
    """Each round runs every side, starting one side later each time, so a slow spell of
    the machine hits all of them and no side always goes first."""
    results = [SideResult(runner.side) for runner in runners]
    for number in range(1, rounds + 1):
        shift = (number - 1) % len(runners)
        for i in [*range(shift, len(runners)), *range(shift)]:
            measured, output = runners[i].round(number)
            results[i].rounds.append(measured)
            if output is not None:
                results[i].output = output
    for runner, result in zip(runners, results, strict=True):
        if runner.side.kind in ("soarpack", "sdk-json"):
            result.half = runner.half()
    return results


# -- figures ------------------------------------------------------------------------------


def cpu_ms_per_page(cpu_s: float, records: int) -> float | None:
    return cpu_s * 1000 / (records / PAGE_SIZE) if records else None


def rate(records: int, seconds: float) -> float | None:
    return records / seconds if seconds > 0 else None


def ratio(top: float | None, bottom: float | None) -> float | None:
    return top / bottom if top is not None and bottom else None


def side_figures(result: SideResult, records: int) -> dict[str, Any]:
    """One side's figures from its median round; `records` is what every side read."""
    full, base = result.median.full, result.median.baseline
    net_cpu, net_wall = full.cpu_s - base.cpu_s, full.wall_s - base.wall_s
    figures: dict[str, Any] = {
        "records": records,
        "pages": full.pages,
        "cpu_ms_per_page": cpu_ms_per_page(net_cpu, records),
        "cpu_ms_per_page_raw": cpu_ms_per_page(full.cpu_s, records),
        "records_per_second": rate(records, net_wall),
        "records_per_second_raw": rate(records, full.wall_s),
        "cpu_s": full.cpu_s,
        "user_s": full.user_s,
        "sys_s": full.sys_s,
        "wall_s": full.wall_s,
        "peak_rss_mb": full.peak_rss_mb,
        "baseline_cpu_ms": base.cpu_s * 1000,
        "baseline_wall_ms": base.wall_s * 1000,
        "baseline_peak_rss_mb": base.peak_rss_mb,
        "baseline_records": base.records,
        "cpu_ms_per_page_rounds": [cpu_ms_per_page(r.net_cpu_s, records) for r in result.rounds],
    }
    if result.half is not None:
        half = result.half
        figures.update(
            {
                "half_run_records": half.records,
                "half_run_peak_rss_mb": half.peak_rss_mb,
                "rss_growth_mb": full.peak_rss_mb - half.peak_rss_mb,
                "memory_flat": full.peak_rss_mb <= half.peak_rss_mb * (1 + FLAT_TOLERANCE),
            }
        )
    return figures


def paired(top: SideResult, bottom: SideResult) -> tuple[float | None, list[float | None]]:
    """The median over rounds of top's net CPU over bottom's in the same round."""
    each = [ratio(t.net_cpu_s, b.net_cpu_s) for t, b in zip(top.rounds, bottom.rounds, strict=True)]
    known = [r for r in each if r is not None]
    return (statistics.median(known) if known else None), each


def report(
    results: list[SideResult], served: dict[str, int], base_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    """The figures of the four sides (soarpack, netskopesdk, netskopesdk + msgspec, the
    floor); `served` counts the gzipped pages the simulator logged per index."""
    ours, sdk, sdk_msgspec, floor = results
    records = ours.median.full.records
    full_pages = records // PAGE_SIZE
    gzip_by_side = {
        r.side.key or "soarpack": all(served.get(x.full.index, 0) >= full_pages for x in r.rounds)
        for r in results
    }
    mine, theirs = side_figures(ours, records), side_figures(sdk, records)
    result: dict[str, Any] = dict(mine)
    for other in (sdk, sdk_msgspec, floor):
        figures = theirs if other is sdk else side_figures(other, records)
        result.update({f"{other.side.key}_{key}": value for key, value in figures.items()})
    cpu_ratio, cpu_ratio_rounds = paired(sdk, ours)
    msgspec_ratio, msgspec_rounds = paired(sdk_msgspec, ours)
    floor_ratio, floor_rounds = paired(ours, floor)
    outputs = [r.output for r in results]
    same = len({(o.lines, o.first_id, o.last_id) for o in outputs if o}) == 1 and all(outputs)
    result.update(
        {
            "cpu_ratio": cpu_ratio,
            "cpu_ratio_rounds": cpu_ratio_rounds,
            "netskopesdk_msgspec_cpu_ratio": msgspec_ratio,
            "netskopesdk_msgspec_cpu_ratio_rounds": msgspec_rounds,
            "floor_ratio": floor_ratio,
            "floor_ratio_rounds": floor_rounds,
            "cpu_ratio_raw": ratio(theirs["cpu_ms_per_page_raw"], mine["cpu_ms_per_page_raw"]),
            "records_per_second_ratio": ratio(
                theirs["records_per_second"], mine["records_per_second"]
            ),
            "peak_rss_ratio": ratio(theirs["peak_rss_mb"], mine["peak_rss_mb"]),
            "same_records": same and outputs[0] is not None and outputs[0].lines == records,
            "first_id": ours.output.first_id if ours.output else None,
            "last_id": ours.output.last_id if ours.output else None,
            "gzip": all(gzip_by_side.values()),
            "gzip_by_side": gzip_by_side,
            "floor_gunzip": floor.median.full.summary.get("gunzip"),
            "floor_bytes_per_round": sorted({int(r.full.summary["bytes"]) for r in floor.rounds}),
            "page_size": PAGE_SIZE,
            "simulator": base_url,
            "client_rate_limit": args.client_rate_limit,
            "server_rate_limit": False,
            "python": sys.version.split()[0],
            "rounds": len(ours.rounds),
            "netskopesdk_version": sdk.median.full.summary.get("netskopesdk"),
            "requests_version": sdk.median.full.summary.get("requests"),
            "msgspec_version": sdk_msgspec.median.full.summary.get("msgspec"),
            "targets": {
                "cpu_ms_per_page_max": CPU_TARGET_MS,
                "cpu_ms_per_page_met": (mine["cpu_ms_per_page"] or 0) <= CPU_TARGET_MS,
                "cpu_ratio_min": CPU_RATIO_TARGET,
                "cpu_ratio_met": (cpu_ratio or 0) >= CPU_RATIO_TARGET,
                "floor_ratio_max": FLOOR_RATIO_TARGET,
                "floor_ratio_met": floor_ratio is not None and floor_ratio <= FLOOR_RATIO_TARGET,
                "memory_flat_met": mine["memory_flat"],
            },
        }
    )
    return result


# -- main ---------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.iterator_ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--records",
        type=int,
        default=DEFAULT_RECORDS,
        help=f"records a side (the simulator's stream length); default {DEFAULT_RECORDS:,}",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--keep", action="store_true", help="keep the work dir and outputs")
    parser.add_argument(
        "--client-rate-limit",
        action="store_true",
        help="keep soarpack's client-side limiter (4 requests / 1.1 s) on",
    )
    parser.add_argument(
        "--python", type=Path, default=PROJECT_PYTHON, help="the project's interpreter"
    )
    parser.add_argument("--sdk-venv", type=Path, default=SDK_VENV, help="netskopesdk's venv")
    parser.add_argument(
        "--repeat",
        type=int,
        default=DEFAULT_ROUNDS,
        metavar="N",
        help=f"rounds (every side once each); medians are shown; default {DEFAULT_ROUNDS}",
    )
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per child run")
    args = parser.parse_args(argv)
    if args.records < 2 * PAGE_SIZE:
        parser.error(f"--records must be at least {2 * PAGE_SIZE:,} (the half run is a page)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not args.python.exists():
        parser.error(f"{args.python} does not exist: create the project venv or pass --python")
    return args


def sides(args: argparse.Namespace, sdk_python: Path) -> list[Side]:
    """soarpack, netskopesdk as documented, netskopesdk with msgspec, the floor."""
    return [
        Side("", "soarpack", "soarpack", args.python, args.client_rate_limit),
        Side("netskopesdk", f"netskopesdk {SDK_VERSION}", "sdk-json", sdk_python),
        Side("netskopesdk_msgspec", "netskopesdk + msgspec", "sdk-msgspec", sdk_python),
        Side("floor", "floor", "floor", args.python),
    ]


def run(args: argparse.Namespace) -> dict[str, Any]:
    sdk_python = ensure_sdk_python(args.sdk_venv, args.python)
    work = Path(tempfile.mkdtemp(prefix="iterator-ingest-"))
    token = secrets.token_urlsafe(24)
    try:
        with simulator(args.python, args.records, token, work) as base_url:
            warm_up(base_url, token)
            env = child_env(token, base_url)
            runners = [Runner(s, base_url, env, work, args) for s in sides(args, sdk_python)]
            results = run_sides(runners, args.repeat)
            return report(results, gzip_answers(base_url), base_url, args)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


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
