"""Benchmark: one for_each through 1, 2 and 4 Celery workers; throughput and speed-up.

Everything is real and on loopback: a redis-server (the one `soarpack redis serve`
finds), the sandbox served over HTTP, and `python -m soarpack worker` processes
(`--pool threads`, T threads each). The playbook is one step looping over N Lacework
Edge users with `lacework_edge.users.get` (a read: one GET per item, after each worker's
one token login); its concurrency is (most workers) x T, so the coordinator always has
enough items in flight to keep every worker busy, whatever the worker count.

The sandbox answers every users.get after a fixed delay (a `delay` fault per request,
default 200 ms): the benchmark measures how well work spreads over workers, not the CPU
of a small machine. ideal items/s = workers x T / delay. Each worker count gets fresh
workers (the start-up is not timed); the time is the whole `run_playbook` call.

Run it with the project venv, from the repository root:

    .venv/bin/python -m benchmarks.scale_out                   # defaults, ~30 s on 2 cores
    .venv/bin/python -m benchmarks.scale_out --json            # one JSON object on stdout
    .venv/bin/python -m benchmarks.scale_out --items 100 --workers 1,2 --delay-ms 100

Progress goes to stderr. This prints numbers; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from benchmarks import runner
from soarpack.config import Config
from soarpack.pack import Pack
from soarpack.playbook import run_playbook
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import LACEWORK_EDGE_PREFIX
from soarpack.sandbox.lacework_edge.store import LaceworkEdgeTenant
from soarpack.workers.dispatch import CeleryEngine
from soarpack.workers.redis_server import RedisServer
from soarpack.workers.signing import TASK_KEY_ENV, new_task_key

ACTION = "lacework_edge.users.get"
REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-sandbox-api-key-0123456789"
READY_TIMEOUT = 60.0


def loop_playbook(concurrency: int) -> str:
    """One step over `inputs.ids`, `concurrency` items at once; outputs every uuid read."""
    return runner.loop_playbook(
        concurrency,
        action=ACTION,
        name="bench-scale-out",
        output=("uuids", "${{ steps.fetch.outputs.uuid }}"),
    )


@contextmanager
def workers(
    count: int, threads: int, broker: str, sandbox_url: str, folder: Path, task_key: str
) -> Iterator[None]:
    """`count` worker processes, ready; stopped (SIGTERM) afterwards."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(folder),
        "LANG": "C.UTF-8",
        "SOARPACK_STATE_DIR": str(folder / "state"),
        "SOARPACK_BROKER_URL": broker,
        TASK_KEY_ENV: task_key,
        "SOARPACK_LACEWORK_EDGE_BASE_URL": sandbox_url + LACEWORK_EDGE_PREFIX,
        "SOARPACK_LACEWORK_EDGE_ACCOUNT": "acme",
        "SOARPACK_LACEWORK_EDGE_API_KEY": TOKEN,
    }
    started: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for index in range(count):
            log = folder / f"worker-{count}-{index}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "soarpack", "--pack", str(REPO), "--log-level", "INFO",
                     "worker", "--concurrency", str(threads)],
                    cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )  # fmt: skip
            started.append((process, log))
        for process, log in started:
            give_up = time.monotonic() + READY_TIMEOUT
            while " ready." not in log.read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > give_up:
                    raise RuntimeError(f"worker did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.05)
        yield
    finally:
        for process, _ in started:
            process.terminate()
        for process, _ in started:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def measure(
    count: int, args: argparse.Namespace, pack: Pack, env: dict[str, Any], folder: Path
) -> dict[str, Any]:
    state: SandboxState = env["state"]
    ids: list[str] = env["ids"]
    book: Path = env["book"]
    key = env["task_key"]
    with workers(count, args.threads, env["broker"], env["sandbox_url"], folder, key):
        state.lacework_edge.faults.clear()
        if args.delay_ms > 0:
            state.lacework_edge.faults.push(
                {"delay": args.delay_ms / 1000}, count=len(ids), match=ACTION
            )
        with CeleryEngine(pack, Config(env={TASK_KEY_ENV: key}), broker=env["broker"]) as engine:
            started = time.perf_counter()
            result = run_playbook(book, {"ids": ids}, engine=engine, runs_dir_path=folder / "runs")
            elapsed = time.perf_counter() - started
            spread = sorted(engine.ran_on.values(), reverse=True)
    if result.status != "succeeded" or result.outputs.get("uuids") != ids:
        raise RuntimeError(f"the run with {count} worker(s) did not succeed: {result.to_dict()}")
    ideal = count * args.threads / (args.delay_ms / 1000) if args.delay_ms > 0 else None
    return {
        "workers": count,
        "seconds": round(elapsed, 3),
        "items_per_second": round(len(ids) / elapsed, 2),
        "ideal_items_per_second": round(ideal, 2) if ideal else None,
        "items_per_worker": spread,
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    pack = Pack.load(REPO)
    tenant = LaceworkEdgeTenant(records_per_area=max(args.items, 4))
    state = SandboxState(token=TOKEN, lacework_edge=tenant)
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="soarpack-scale-out-") as scratch,
        RedisServer() as redis,
        start_server(create_sandbox_app(state)) as server,
    ):
        folder = Path(scratch)
        api_user = tenant.api_user_uuid
        ids = [u["uuid"] for u in tenant.store("users") if u["uuid"] != api_user][: args.items]
        book = folder / "bench-scale-out.yaml"
        book.write_text(loop_playbook(max(args.workers) * args.threads), encoding="utf-8")
        env = {
            "state": state,
            "ids": ids,
            "book": book,
            "broker": redis.url,
            "sandbox_url": server.base_url,
            # The coordinator's and the workers' shared signing key, fresh for this run.
            "task_key": new_task_key(),
        }
        for count in args.workers:
            print(f"scale_out: {len(ids)} items on {count} worker(s)...", file=sys.stderr)
            rows.append(measure(count, args, pack, env, folder))
    base = rows[0]["items_per_second"] / rows[0]["workers"]
    for row in rows:
        row["speed_up_vs_1"] = round(row["items_per_second"] / base, 2)
    return {
        "action": ACTION,
        "items": len(ids),
        "threads_per_worker": args.threads,
        "delay_ms": args.delay_ms,
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "rows": rows,
    }


def render_table(r: dict[str, Any]) -> str:
    lines = [
        f"scale-out benchmark: {r['items']} x {r['action']}, {r['threads_per_worker']} threads "
        f"per worker, {r['delay_ms']:g} ms per request, {r['cpus']} CPUs",
        f"{'workers':>7}  {'seconds':>8}  {'items/s':>8}  {'ideal/s':>8}  {'speed-up':>8}  items per worker",
    ]
    for row in r["rows"]:
        ideal = f"{row['ideal_items_per_second']:,.1f}" if row["ideal_items_per_second"] else "-"
        lines.append(
            f"{row['workers']:>7}  {row['seconds']:>8.2f}  {row['items_per_second']:>8,.1f}  "
            f"{ideal:>8}  {row['speed_up_vs_1']:>7.2f}x  {row['items_per_worker']}"
        )
    lines.append("speed-up: items/s relative to one worker's (1-worker rate x workers is ideal)")
    return "\n".join(lines)


def _counts(text: str) -> list[int]:
    try:
        found = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a list like 1,2,4") from None
    if not found or min(found) < 1:
        raise argparse.ArgumentTypeError("worker counts are positive")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=200, help="for_each items (default 200)")
    parser.add_argument("--workers", type=_counts, default=[1, 2, 4], help="default 1,2,4")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    parser.add_argument(
        "--delay-ms", type=float, default=200.0, help="sandbox delay per request (default 200)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result, indent=2) if args.json else render_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
