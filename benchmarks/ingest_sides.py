"""The sides of the iterator-ingest benchmark and what it takes to run and measure them:
their commands (children in ingest_children.py), one measured child process, the
simulator they read from, netskopesdk's venv, and checks of what each side wrote.

Standard library only, like the benchmark's entry point.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.ingest_children import PEAK_RSS_PREFIX

HERE = Path(__file__).resolve().parent
CHILDREN = HERE / "ingest_children.py"
STREAM = "events/page"
EVENT_TYPE = "page"
PAGE_SIZE = 10_000
SEED = 7
TOKEN_HEADER = "Netskope-Api-Token"
BASE_URL_ENV = "SOARPACK_NETSKOPE_V2_BASE_URL"
TOKEN_ENV = "SOARPACK_NETSKOPE_V2_TOKEN"
SANDBOX_TOKEN_ENV = "SOARPACK_SANDBOX_TOKEN"
SDK_VERSION = "0.0.41"  # pinned: the figures compare against this release of netskopesdk


class BenchError(Exception):
    """A step of the benchmark failed; the message says which and why."""


def log(message: str) -> None:
    print(f"iterator_ingest: {message}", file=sys.stderr, flush=True)


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
    index: str = ""

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


@dataclass(frozen=True)
class Side:
    """One client: `key` prefixes its figures; `kind` picks its child in ingest_children."""

    key: str
    label: str
    kind: str  # soarpack, sdk-json, sdk-msgspec or floor
    python: Path
    client_rate_limit: bool = False

    @property
    def short(self) -> str:
        return self.kind

    def command(
        self, base_url: str, index: str, out: Path, max_pages: int | None, requests: int
    ) -> list[str]:
        """The child's command; the floor asks for `requests` pages, the others stop at
        the first short page (or after `max_pages`)."""
        cmd = [str(self.python), str(CHILDREN)]
        if self.kind == "soarpack":
            cmd.append("soarpack")
            if self.client_rate_limit:
                cmd.append("--client-rate-limit")
            cmd += ["ingest", "netskope", "--type", STREAM, "--until-caught-up"]
            cmd += ["--out", str(out), "--state-dir", str(out / "state"), "--index", index]
            cmd += ["--progress", "none"]
        elif self.kind == "floor":
            out.mkdir(parents=True, exist_ok=True)
            cmd += ["floor", "--base-url", base_url, "--index", index]
            return [*cmd, "--out", str(out / "pages.json"), "--requests", str(requests)]
        else:
            out.mkdir(parents=True, exist_ok=True)
            cmd += ["sdk", "--parse", self.kind.removeprefix("sdk-"), "--base-url", base_url]
            cmd += ["--index", index, "--out", str(out / "events_page.jsonl")]
        if max_pages is not None:
            cmd += ["--max-pages", str(max_pages)]
        return cmd

    def parse(self, stdout: str) -> dict[str, Any]:
        if self.kind == "soarpack":
            stream = json.loads(stdout)["streams"][0]
            if stream.get("error"):
                raise BenchError(f"soarpack ingest failed: {stream['error']}")
            return dict(stream)
        summary = dict(json.loads(stdout.strip().splitlines()[-1]))
        summary.setdefault("records", 0)  # the floor does not look inside a page
        return summary


def run_measured(
    name: str,
    cmd: list[str],
    env: dict[str, str],
    cwd: Path,
    timeout: float,
    parse: Callable[[str], dict[str, Any]],
) -> Measured:
    """Run `cmd`; its rusage comes from os.wait4, so it is this child's and no other's."""
    out_path, err_path = cwd / f"{name}.out", cwd / f"{name}.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
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
        peak_rss_mb=_own_peak_kb(err_path, usage.ru_maxrss) / 1024,
        summary=summary,
    )


def _own_peak_kb(err_path: Path, maxrss_kb: int) -> int:
    """The child's own peak RSS, as it reported it (ingest_children.report_peak_rss).
    ru_maxrss counts, on Linux, the RSS its parent had at the fork as well: after the
    benchmark's process has grown, every child would seem at least that large."""
    for line in reversed(err_path.read_text(errors="replace").splitlines()):
        if line.startswith(PEAK_RSS_PREFIX):
            return int(line.removeprefix(PEAK_RSS_PREFIX))
    return maxrss_kb


# -- what a side wrote ---------------------------------------------------------------------


@dataclass(frozen=True)
class OutputSummary:
    """What a run wrote: its record count and first and last record ids."""

    lines: int
    first_id: str | None
    last_id: str | None


def summarize_output(directory: Path) -> OutputSummary:
    """JSON Lines files of records (soarpack, netskopesdk), or the floor's pages."""
    pages = directory / "pages.json"
    if pages.exists():
        return _summarize_pages(pages)
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


def _summarize_pages(path: Path) -> OutputSummary:
    """The floor wrote whole pages, one a line: counted by a child (ingest_children count)."""
    done = subprocess.run(
        [sys.executable, str(CHILDREN), "count", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    counted = json.loads(done.stdout)
    return OutputSummary(int(counted["records"]), counted["first_id"], counted["last_id"])


def _record_id(line: bytes) -> str | None:
    try:
        value = json.loads(line).get("_id")
    except ValueError:
        return None
    return None if value is None else str(value)


# -- the simulator -------------------------------------------------------------------------


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


def gzip_answers(base_url: str) -> dict[str, int]:
    """Per iterator index, the pages the simulator's own log says it served gzipped."""
    with urllib.request.urlopen(f"{base_url}/_sandbox/requests", timeout=30) as response:
        entries = json.loads(response.read())["requests"]
    served: dict[str, int] = {}
    for entry in entries:
        index = str((entry.get("query") or {}).get("index", ""))
        if entry.get("status") == 200 and entry.get("encoding") == "gzip":
            served[index] = served.get(index, 0) + 1
    return served


def child_env(token: str | None = None, base_url: str | None = None) -> dict[str, str]:
    """This environment without SOARPACK_* settings, plus the ones the children need."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOARPACK_")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if token is not None:
        env[TOKEN_ENV] = token
    if base_url is not None:
        env[BASE_URL_ENV] = base_url
    return env


# -- the netskopesdk venv ------------------------------------------------------------------


def ensure_sdk_python(venv: Path, base_python: Path) -> Path:
    """A venv holding netskopesdk (pinned) and our msgspec's version, made on first use
    from `base_python`, and made again when either version differs."""
    msgspec = _version_in(base_python, "msgspec")
    wanted = [f"netskopesdk=={SDK_VERSION}", f"msgspec=={msgspec}"]
    python = venv / "bin" / "python"
    if python.exists():
        found = [
            f"netskopesdk=={_version_in(python, 'netskopesdk')}",
            f"msgspec=={_version_in(python, 'msgspec')}",
        ]
        if found == wanted:
            return python
    log(f"installing {' '.join(wanted)} into {venv} ...")
    subprocess.run([str(base_python), "-m", "venv", "--clear", str(venv)], check=True)
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *wanted], check=True, stdout=sys.stderr)
    return python


def _version_in(python: Path, package: str) -> str | None:
    code = f"from importlib.metadata import version; print(version({package!r}))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else None
