"""Benchmark: soarpack's Netskope iterator ingest against netskopesdk's iterator client.

What it measures. Both clients follow the same REST v2 data-export iterator (events/page)
of the simulator (`soarpack sandbox serve --no-rate-limit`, a separate process on
127.0.0.1), each from its own iterator index so that both read the same records, and
write every record to a JSON Lines file:

- soarpack: `soarpack ingest netskope --type events/page --until-caught-up --out DIR ...`,
  the CLI as users run it, in a child process. Our client-side limiter (4 requests per
  1.1 s, from the manifest) is left out of a copy of the pack given to that child with
  `--pack`, so the loop runs at full speed; `--client-rate-limit` keeps it.
- netskopesdk (PyPI `netskopesdk`): the loop its users write: `res = it.next()`,
  `res.json()["result"]`, one `json.dumps(record)` line per record, honour `wait_time`,
  stop at the first short page.

How. Each side runs in its own process; `os.wait4` gives that process's CPU time
(user + sys) and peak RSS, and the wall time is measured around it. Per side:

1. the full run: every record of the stream, from a fresh index;
2. a start-up baseline: the same command again on the now caught-up index (interpreter
   start, imports, one empty page), subtracted from run 1 to give the loop's own cost;
3. a half run: half the pages, from another fresh index. Memory is flat when its peak
   RSS matches the full run's. (Half, not a quarter: garbage pages held until the cyclic
   GC runs make our RSS a saw-tooth several pages long, so a 5-page run misses its top.)

Reported: CPU ms per 10,000-record page and records/s, net of the baseline (and raw),
peak RSS of both run sizes, and the ratios netskopesdk / soarpack. Both outputs are
checked to hold the same records (count, first and last `_id`).

Run it with any Python 3.10+ (the script itself needs only the standard library); the
simulator and our ingest run under the project venv's `.venv/bin/python`, and
netskopesdk is installed on first use into `benchmarks/.venv-netskopesdk`, a venv made
from that same interpreter, so the project's dependencies are untouched:

    python3 benchmarks/iterator_ingest.py                    # 200,000 records a side, < 1 min
    python3 benchmarks/iterator_ingest.py --records 1000000  # the 1,000,000-record run
    python3 benchmarks/iterator_ingest.py --json             # one JSON object on stdout
    python3 benchmarks/iterator_ingest.py --repeat 3         # median of 3 rounds a side

Progress goes to stderr; `--keep` keeps the work dir (outputs, checkpoints, child logs).

This prints numbers; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROJECT_PYTHON = ROOT / ".venv" / "bin" / "python"
SDK_VENV = HERE / ".venv-netskopesdk"
SDK_PACKAGE = "netskopesdk"

STREAM = "events/page"
EVENT_TYPE = "page"
PAGE_SIZE = 10_000
SEED = 7
DEFAULT_RECORDS = 200_000
TOKEN_HEADER = "Netskope-Api-Token"
BASE_URL_ENV = "SOARPACK_NETSKOPE_V2_BASE_URL"
TOKEN_ENV = "SOARPACK_NETSKOPE_V2_TOKEN"
SANDBOX_TOKEN_ENV = "SOARPACK_SANDBOX_TOKEN"

CPU_TARGET_MS = 25.0  # per 10,000-record page
CPU_RATIO_TARGET = 2.0  # netskopesdk's CPU / ours
FLAT_TOLERANCE = 0.10  # the full run's peak RSS may exceed the half run's by this much

CHILD_OURS = "_child-ours"
CHILD_SDK = "_child-sdk"


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def log(message: str) -> None:
    print(f"iterator_ingest: {message}", file=sys.stderr, flush=True)


# -- the child processes ---------------------------------------------------------------


def child_ours(argv: list[str]) -> int:
    """Our ingest CLI in this process. argv: [--client-rate-limit] then the CLI's arguments."""
    keep_limit = argv[:1] == ["--client-rate-limit"]
    from soarpack.cli.main import main

    if keep_limit:
        return main(argv[1:])
    with tempfile.TemporaryDirectory(prefix="bench-pack-") as pack:
        return main(["--pack", _pack_without_client_rate_limit(Path(pack)), *argv])


def _pack_without_client_rate_limit(target: Path) -> str:
    """A copy of the pack whose netskope_v2 connection declares no rate limit.

    The limit is part of the manifest (4 per 1.1 s); the benchmark measures the loop at
    full speed through the public `--pack` option instead of touching our code.
    """
    import yaml

    from soarpack.pack import find_pack_dir

    source = find_pack_dir(None)
    for part in ("schemas", "actions", "playbooks"):
        shutil.copytree(source / part, target / part, ignore=shutil.ignore_patterns("__pycache__"))
    manifest = yaml.safe_load((source / "manifest.yaml").read_text(encoding="utf-8"))
    manifest["connections"]["netskope_v2"].pop("rate_limit", None)
    (target / "manifest.yaml").write_text(
        yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8"
    )
    return str(target)


def child_sdk(argv: list[str]) -> int:
    """netskopesdk's iterator loop, as its users write it (runs in the netskopesdk venv)."""
    from importlib.metadata import version

    from netskope_api.iterator.const import Const
    from netskope_api.iterator.netskope_iterator import NetskopeIterator

    parser = argparse.ArgumentParser(prog=CHILD_SDK)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--index", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--max-pages", type=int)
    args = parser.parse_args(argv)
    iterator = NetskopeIterator(
        {
            Const.NSKP_TOKEN: os.environ[TOKEN_ENV],
            Const.NSKP_TENANT_HOSTNAME: urllib.parse.urlsplit(args.base_url).netloc,
            Const.NSKP_ITERATOR_NAME: args.index,
            Const.NSKP_EVENT_TYPE: EVENT_TYPE,
        }
    )
    # Its client builds https://<host>; the simulator is plain http on loopback.
    iterator.client.configs["base_url"] = args.base_url
    records = pages = 0
    with open(args.out, "a", encoding="utf-8") as out:  # the baseline run appends nothing
        while args.max_pages is None or pages < args.max_pages:
            response = iterator.next()
            response.raise_for_status()
            data = response.json()
            result = data["result"]
            for record in result:
                out.write(json.dumps(record) + "\n")
            records += len(result)
            pages += 1
            if len(result) < PAGE_SIZE:
                break
            wait = float(data.get("wait_time") or 0)
            if wait > 0:
                time.sleep(wait)
    summary = {
        "records": records,
        "pages": pages,
        "netskopesdk": version("netskopesdk"),
        "requests": version("requests"),
    }
    print(json.dumps(summary))
    return 0


# -- running and measuring a child ------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """One child process: what it read and what it cost."""

    name: str
    records: int
    pages: int
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_mb: float
    summary: dict[str, Any]

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def run_measured(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    logs: Path,
    timeout: float,
    parse: Callable[[str], dict[str, Any]],
) -> Measured:
    """Run `cmd`; its rusage comes from os.wait4, so it is this child's and no other's."""
    out_path, err_path = logs / f"{name}.out", logs / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=logs)
        watchdog = threading.Timer(timeout, proc.kill)
        watchdog.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            watchdog.cancel()
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace")[-2000:]
        raise BenchError(f"{name} exited with {proc.returncode}:\n{tail}")
    summary = parse(out_path.read_text())
    return Measured(
        name=name,
        records=int(summary["records"]),
        pages=int(summary["pages"]),
        wall_s=wall,
        user_s=usage.ru_utime,
        sys_s=usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
        summary=summary,
    )


def parse_ours(stdout: str) -> dict[str, Any]:
    stream = json.loads(stdout)["streams"][0]
    if stream.get("error"):
        raise BenchError(f"soarpack ingest failed: {stream['error']}")
    return dict(stream)


def parse_sdk(stdout: str) -> dict[str, Any]:
    return dict(json.loads(stdout.strip().splitlines()[-1]))


@dataclass(frozen=True)
class Side:
    """How to run one client: its command for an index, an output dir and a page limit."""

    name: str
    python: Path
    client_rate_limit: bool = False

    def command(self, base_url: str, index: str, out: Path, max_pages: int | None) -> list[str]:
        script = str(Path(__file__).resolve())
        if self.name == "soarpack":
            cmd = [str(self.python), script, CHILD_OURS]
            if self.client_rate_limit:
                cmd.append("--client-rate-limit")
            cmd += ["ingest", "netskope", "--type", STREAM, "--until-caught-up"]
            cmd += ["--out", str(out), "--state-dir", str(out / "state"), "--index", index]
            cmd += ["--progress", "none"]
        else:
            out.mkdir(parents=True, exist_ok=True)
            cmd = [str(self.python), script, CHILD_SDK, "--base-url", base_url]
            cmd += ["--index", index, "--out", str(out / "events_page.jsonl")]
        if max_pages is not None:
            cmd += ["--max-pages", str(max_pages)]
        return cmd

    def parse(self, stdout: str) -> dict[str, Any]:
        return parse_ours(stdout) if self.name == "soarpack" else parse_sdk(stdout)


@dataclass(frozen=True)
class OutputSummary:
    """What a run wrote: its line count and first and last record ids."""

    lines: int
    first_id: str | None
    last_id: str | None


@dataclass(frozen=True)
class Round:
    """A full run and its start-up baseline (the same command on the caught-up index)."""

    full: Measured
    baseline: Measured

    @property
    def net_cpu_s(self) -> float:
        return self.full.cpu_s - self.baseline.cpu_s


@dataclass(frozen=True)
class SideResult:
    rounds: list[Round]
    half: Measured
    output: OutputSummary

    @property
    def median(self) -> Round:
        """The round with the median net CPU time (the lower middle one for an even count)."""
        ordered = sorted(self.rounds, key=lambda r: r.net_cpu_s)
        return ordered[(len(ordered) - 1) // 2]


def summarize_output(directory: Path) -> OutputSummary:
    files = sorted(p for p in directory.glob("*.jsonl") if p.stat().st_size > 0)
    lines = 0
    for path in files:
        with open(path, "rb") as handle:
            while chunk := handle.read(8 << 20):
                lines += chunk.count(b"\n")
    if not files:
        return OutputSummary(0, None, None)
    with open(files[0], "rb") as handle:
        first = handle.readline()
    with open(files[-1], "rb") as handle:
        handle.seek(max(0, files[-1].stat().st_size - (1 << 20)))
        last = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
    return OutputSummary(lines, _record_id(first), _record_id(last))


def _record_id(line: bytes) -> str | None:
    try:
        value = json.loads(line).get("_id")
    except ValueError:
        return None
    return None if value is None else str(value)


@dataclass(frozen=True)
class Runner:
    """Runs one side's children against the simulator and measures them."""

    side: Side
    base_url: str
    env: dict[str, str]
    work: Path
    args: argparse.Namespace

    @property
    def short(self) -> str:
        return "ours" if self.side.name == "soarpack" else "sdk"

    def measure(self, name: str, index: str, out: Path, max_pages: int | None) -> Measured:
        cmd = self.side.command(self.base_url, index, out, max_pages)
        log(f"{self.side.name}: {name} run ...")
        return run_measured(
            f"{self.short}-{name}", cmd, self.env, self.work, self.args.timeout, self.side.parse
        )

    def round(self, number: int) -> tuple[Round, OutputSummary]:
        """Every record from a fresh index, then the baseline on that caught-up index."""
        index = f"bench-{self.short}-{secrets.token_hex(4)}"
        out = self.work / f"{self.short}-full-{number}"
        full = self.measure(f"full-{number}", index, out, None)
        baseline = self.measure(f"baseline-{number}", index, out, None)
        output = summarize_output(out)
        if not self.args.keep:
            shutil.rmtree(out)
        return Round(full, baseline), output

    def half(self) -> Measured:
        index = f"bench-{self.short}-{secrets.token_hex(4)}-half"
        out = self.work / f"{self.short}-half"
        half = self.measure("half", index, out, half_pages(self.args.records))
        if not self.args.keep:
            shutil.rmtree(out)
        return half


def run_sides(runners: list[Runner], repeat: int) -> list[SideResult]:
    """Rounds alternate between the sides, so a slow spell of the machine hits both."""
    rounds: list[list[Round]] = [[] for _ in runners]
    outputs: list[OutputSummary] = []
    for number in range(1, repeat + 1):
        for i, runner in enumerate(runners):
            measured, output = runner.round(number)
            rounds[i].append(measured)
            if number == 1:
                outputs.append(output)
    halves = [runner.half() for runner in runners]
    return [SideResult(*parts) for parts in zip(rounds, halves, outputs, strict=True)]


def half_pages(records: int) -> int:
    return max(1, records // PAGE_SIZE // 2)


# -- the simulator -----------------------------------------------------------------------


@contextlib.contextmanager
def simulator(python: Path, records: int, token: str, work: Path) -> Iterator[str]:
    """`soarpack sandbox serve` in its own process; yields its base URL."""
    err_path = work / "simulator.err"
    env = child_env()
    env[SANDBOX_TOKEN_ENV] = token
    cmd = [str(python), "-m", "soarpack", "sandbox", "serve", "--port", "0", "--no-rate-limit"]
    cmd += ["--events-per-type", str(records), "--seed", str(SEED)]
    with open(err_path, "wb") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=work)
    try:
        yield _wait_for_base_url(proc, err_path)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_for_base_url(proc: subprocess.Popen[bytes], err_path: Path) -> str:
    pattern = re.compile(rf"export {BASE_URL_ENV}=(\S+)")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = err_path.read_text(errors="replace")
        found = pattern.search(text)
        if found:
            return found.group(1)
        if proc.poll() is not None:
            raise BenchError(f"the simulator exited with {proc.returncode}:\n{text[-2000:]}")
        time.sleep(0.05)
    raise BenchError("the simulator did not print its address within 60 s")


def warm_up(base_url: str, token: str) -> None:
    """One `tail` request: the simulator builds the stream's templates before anyone counts."""
    query = urllib.parse.urlencode({"index": "bench-warm-up", "operation": "tail"})
    request = urllib.request.Request(
        f"{base_url}/api/v2/events/dataexport/events/{EVENT_TYPE}?{query}",
        headers={TOKEN_HEADER: token},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        if response.status != 200:
            raise BenchError(f"the simulator answered {response.status} to the warm-up")
        response.read()


def child_env(token: str | None = None, base_url: str | None = None) -> dict[str, str]:
    """This environment without SOARPACK_* settings, plus the ones the children need."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOARPACK_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if token is not None:
        env[TOKEN_ENV] = token
    if base_url is not None:
        env[BASE_URL_ENV] = base_url
    return env


# -- the netskopesdk venv ----------------------------------------------------------------


def ensure_sdk_python(venv: Path, base_python: Path) -> Path:
    """A venv holding netskopesdk, made on first use from `base_python`."""
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import netskope_api.iterator.netskope_iterator"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    log(f"first use: installing {SDK_PACKAGE} into {venv} ...")
    subprocess.run([str(base_python), "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, SDK_PACKAGE], check=True, stdout=sys.stderr)
    return python


# -- figures and output ------------------------------------------------------------------


def cpu_ms_per_page(cpu_s: float, records: int) -> float | None:
    return cpu_s * 1000 / (records / PAGE_SIZE) if records else None


def rate(records: int, seconds: float) -> float | None:
    return records / seconds if seconds > 0 else None


def ratio(theirs: float | None, ours: float | None) -> float | None:
    return theirs / ours if theirs is not None and ours else None


def side_figures(result: SideResult) -> dict[str, Any]:
    full, base, half = result.median.full, result.median.baseline, result.half
    net_cpu = full.cpu_s - base.cpu_s
    net_wall = full.wall_s - base.wall_s
    return {
        "records": full.records,
        "pages": full.pages,
        "cpu_ms_per_page": cpu_ms_per_page(net_cpu, full.records),
        "cpu_ms_per_page_raw": cpu_ms_per_page(full.cpu_s, full.records),
        "records_per_second": rate(full.records, net_wall),
        "records_per_second_raw": rate(full.records, full.wall_s),
        "cpu_s": full.cpu_s,
        "user_s": full.user_s,
        "sys_s": full.sys_s,
        "wall_s": full.wall_s,
        "peak_rss_mb": full.peak_rss_mb,
        "half_run_records": half.records,
        "half_run_peak_rss_mb": half.peak_rss_mb,
        "rss_growth_mb": full.peak_rss_mb - half.peak_rss_mb,
        "memory_flat": full.peak_rss_mb <= half.peak_rss_mb * (1 + FLAT_TOLERANCE),
        "baseline_cpu_ms": base.cpu_s * 1000,
        "baseline_wall_ms": base.wall_s * 1000,
        "baseline_peak_rss_mb": base.peak_rss_mb,
        "baseline_records": base.records,
        "cpu_ms_per_page_rounds": [
            cpu_ms_per_page(r.net_cpu_s, r.full.records) for r in result.rounds
        ],
    }


def report(
    ours: SideResult, sdk: SideResult, base_url: str, args: argparse.Namespace
) -> dict[str, Any]:
    mine, theirs = side_figures(ours), side_figures(sdk)
    result: dict[str, Any] = dict(mine)
    result.update({f"netskopesdk_{key}": value for key, value in theirs.items()})
    cpu_ratio = ratio(theirs["cpu_ms_per_page"], mine["cpu_ms_per_page"])
    same = ours.output == sdk.output and ours.output.lines == mine["records"]
    result.update(
        {
            "cpu_ratio": cpu_ratio,
            "cpu_ratio_raw": ratio(theirs["cpu_ms_per_page_raw"], mine["cpu_ms_per_page_raw"]),
            "records_per_second_ratio": ratio(
                theirs["records_per_second"], mine["records_per_second"]
            ),
            "peak_rss_ratio": ratio(theirs["peak_rss_mb"], mine["peak_rss_mb"]),
            "same_records": same,
            "first_id": ours.output.first_id,
            "last_id": ours.output.last_id,
            "page_size": PAGE_SIZE,
            "simulator": base_url,
            "client_rate_limit": args.client_rate_limit,
            "server_rate_limit": False,
            "python": sys.version.split()[0],
            "rounds": len(ours.rounds),
            "netskopesdk_version": sdk.median.full.summary.get("netskopesdk"),
            "requests_version": sdk.median.full.summary.get("requests"),
            "targets": {
                "cpu_ms_per_page_max": CPU_TARGET_MS,
                "cpu_ms_per_page_met": (mine["cpu_ms_per_page"] or 0) <= CPU_TARGET_MS,
                "cpu_ratio_min": CPU_RATIO_TARGET,
                "cpu_ratio_met": (cpu_ratio or 0) >= CPU_RATIO_TARGET,
                "memory_flat_met": mine["memory_flat"],
            },
        }
    )
    return result


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def _list(values: list[float | None]) -> str:
    return "[" + ", ".join(_num(v) for v in values) + "]"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def render_table(r: dict[str, Any]) -> str:
    s = "netskopesdk_"
    limiter = "on" if r["client_rate_limit"] else "off"
    lines = [
        f"iterator ingest: {r['records']:,} records ({r['records'] // PAGE_SIZE} pages of "
        f"{PAGE_SIZE:,}) a side, simulator {r['simulator']}",
        f"rate limiting off on the simulator; soarpack's client-side limiter {limiter}; "
        f"Python {r['python']}, netskopesdk {r['netskopesdk_version']} "
        f"(requests {r['requests_version']})",
        f"same records on both sides: {'yes' if r['same_records'] else 'NO'} "
        f"({r['first_id']} .. {r['last_id']})",
        "net = minus the start-up baseline (same command on the caught-up index: "
        "interpreter, imports, one empty page)",
    ]
    if r["rounds"] > 1:
        lines.append(
            f"{r['rounds']} rounds a side, the median one (by net CPU) shown; net CPU ms per "
            f"page by round: soarpack {_list(r['cpu_ms_per_page_rounds'])}, "
            f"netskopesdk {_list(r[s + 'cpu_ms_per_page_rounds'])}"
        )
    lines.append("")
    rows: list[tuple[str, str, str, str]] = [
        ("", "soarpack", "netskopesdk", "netskopesdk/soarpack"),
        (
            "CPU ms per 10k-record page, net",
            _num(r["cpu_ms_per_page"]),
            _num(r[s + "cpu_ms_per_page"]),
            _times(r["cpu_ratio"]),
        ),
        (
            "CPU ms per 10k-record page, raw",
            _num(r["cpu_ms_per_page_raw"]),
            _num(r[s + "cpu_ms_per_page_raw"]),
            _times(r["cpu_ratio_raw"]),
        ),
        (
            "  CPU s user / sys, raw",
            f"{r['user_s']:.2f} / {r['sys_s']:.2f}",
            f"{r[s + 'user_s']:.2f} / {r[s + 'sys_s']:.2f}",
            "",
        ),
        (
            "records/s, net",
            _num(r["records_per_second"], 0),
            _num(r[s + "records_per_second"], 0),
            _times(r["records_per_second_ratio"]),
        ),
        (
            "records/s, raw",
            _num(r["records_per_second_raw"], 0),
            _num(r[s + "records_per_second_raw"], 0),
            _times(ratio(r[s + "records_per_second_raw"], r["records_per_second_raw"])),
        ),
        ("wall s, raw", _num(r["wall_s"], 2), _num(r[s + "wall_s"], 2), ""),
        (
            f"peak RSS MB, {r['half_run_records']:,} records",
            _num(r["half_run_peak_rss_mb"]),
            _num(r[s + "half_run_peak_rss_mb"]),
            _times(ratio(r[s + "half_run_peak_rss_mb"], r["half_run_peak_rss_mb"])),
        ),
        (
            f"peak RSS MB, {r['records']:,} records",
            _num(r["peak_rss_mb"]),
            _num(r[s + "peak_rss_mb"]),
            _times(r["peak_rss_ratio"]),
        ),
        (
            "start-up baseline: CPU ms / wall ms",
            f"{_num(r['baseline_cpu_ms'], 0)} / {_num(r['baseline_wall_ms'], 0)}",
            f"{_num(r[s + 'baseline_cpu_ms'], 0)} / {_num(r[s + 'baseline_wall_ms'], 0)}",
            "",
        ),
        (
            "start-up baseline: peak RSS MB",
            _num(r["baseline_peak_rss_mb"]),
            _num(r[s + "baseline_peak_rss_mb"]),
            "",
        ),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines += ["", *render_targets(r)]
    return "\n".join(lines)


def render_targets(r: dict[str, Any]) -> list[str]:
    t = r["targets"]

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    growth = r["rss_growth_mb"]
    return [
        "targets (soarpack):",
        f"  CPU per page <= {CPU_TARGET_MS:g} ms (net): {_num(r['cpu_ms_per_page'])} ms, "
        f"{verdict(t['cpu_ms_per_page_met'])}",
        f"  >= {CPU_RATIO_TARGET:g}x less CPU than netskopesdk: {_times(r['cpu_ratio'])}, "
        f"{verdict(t['cpu_ratio_met'])}",
        f"  memory flat (peak grows <= {FLAT_TOLERANCE:.0%} from {r['half_run_records']:,} to "
        f"{r['records']:,} records): {growth:+.1f} MB, {verdict(t['memory_flat_met'])}",
    ]


# -- main --------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
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
        default=1,
        metavar="N",
        help="full runs a side (alternating sides); the round with the median net CPU is shown",
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    sdk_python = ensure_sdk_python(args.sdk_venv, args.python)
    work = Path(tempfile.mkdtemp(prefix="iterator-ingest-"))
    token = secrets.token_urlsafe(24)
    try:
        with simulator(args.python, args.records, token, work) as base_url:
            warm_up(base_url, token)
            env = child_env(token, base_url)
            sides = [Side("soarpack", args.python, args.client_rate_limit)]
            sides.append(Side("netskopesdk", sdk_python))
            runners = [Runner(side, base_url, env, work, args) for side in sides]
            ours, sdk = run_sides(runners, args.repeat)
        return report(ours, sdk, base_url, args)
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str]) -> int:
    if argv[:1] == [CHILD_OURS]:
        return child_ours(argv[1:])
    if argv[:1] == [CHILD_SDK]:
        return child_sdk(argv[1:])
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
