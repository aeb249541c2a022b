"""Benchmark: CLI cold start, `soarpack invoke` of a read action vs `python -c "import httpx"`.

The sandbox runs in this process on 127.0.0.1 (a thread); each measured command is a new
process of the project's interpreter. Ours is the installed console script
`soarpack invoke netskope.clients.list --input '{"limit": 5}'` against it (start,
imports, pack load, settings, one HTTP call over loopback, JSON out); the reference is
the same interpreter importing httpx and nothing else. Rounds alternate; the median wall
time of each is shown, and the ratio is the median of the rounds' own ratios.
`-X importtime` of our command names the modules that cost the most to import.

The parsed manifest is cached between processes (soarpack.manifest_cache) in a fresh
folder: the first, untimed run fills it, as the first command on any machine does. The
same command with the cache off (SOARPACK_CACHE_DIR=off) is timed too.

`import httpx` also imports httpx's own command-line module when click, rich and
pygments are installed, as they are in this project's test environment (for the test
tools): both sides pay that. A lean install (no rich) does not, so the pair is timed
again with that module kept out on both sides (`sys.modules["httpx._main"] = None`):
the ratio a user of a plain install would see.

    .venv/bin/python -m benchmarks.cold_start [--json] [--repeat N]

Children get no SOARPACK_* setting from this environment, only the sandbox's.
This prints numbers; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACTION = "netskope.clients.list"
INPUTS = '{"limit": 5}'
DEFAULT_REPEAT = 10
TARGET_RATIO = 1.5


def log(message: str) -> None:
    print(f"cold_start: {message}", file=sys.stderr, flush=True)


def child_env(base_url: str, token: str, cache_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SOARPACK_")}
    env.update(
        {
            "SOARPACK_NETSKOPE_BASE_URL": base_url,
            "SOARPACK_NETSKOPE_TOKEN": token,
            # No user config file: what is timed is the same on every machine.
            "SOARPACK_CONFIG": os.devnull,
            "SOARPACK_CACHE_DIR": cache_dir,
        }
    )
    return env


def soarpack_command(python: Path) -> list[str]:
    script = python.parent / "soarpack"
    head = [str(script)] if script.exists() else [str(python), "-m", "soarpack"]
    return [*head, "invoke", ACTION, "--input", INPUTS, "--compact"]


# Keeps httpx's optional command-line module (click, rich, pygments) out of a process.
_LEAN = 'import sys; sys.modules["httpx._main"] = None; '


def lean_commands(python: Path) -> tuple[list[str], list[str]]:
    """Ours and the reference, both without httpx's command-line module."""
    ours = [str(python), "-c", _LEAN + "from soarpack.cli.main import run; run()"]
    ours += ["invoke", ACTION, "--input", INPUTS, "--compact"]
    return ours, [str(python), "-c", _LEAN + "import httpx"]


def timed(cmd: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.decode()[-800:]}"
        )
    return elapsed


def import_costs(python: Path, env: dict[str, str], top: int = 8) -> list[dict[str, Any]]:
    """The top-level packages our command spends the most import time in (-X importtime)."""
    cmd = [str(python), "-X", "importtime", "-m", "soarpack", "invoke", ACTION]
    cmd += ["--input", INPUTS, "--compact"]
    done = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, check=False, text=True)
    totals: dict[str, int] = {}
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if found and len(found.group(2)) == 1:  # top-level imports only (cumulative)
            package = found.group(3).split(".")[0]
            totals[package] = totals.get(package, 0) + int(found.group(1))
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])[:top]
    return [{"package": name, "ms": us / 1000} for name, us in ranked]


def run(repeat: int = DEFAULT_REPEAT, python: Path | None = None) -> dict[str, Any]:
    from soarpack.sandbox import SandboxState, create_sandbox_app, start_server

    python = python or Path(sys.executable)
    token = secrets.token_urlsafe(24)
    ours_cmd = soarpack_command(python)
    ref_cmd = [str(python), "-c", "import httpx"]
    lean_ours_cmd, lean_ref_cmd = lean_commands(python)
    with (
        start_server(create_sandbox_app(SandboxState(token=token))) as server,
        tempfile.TemporaryDirectory(prefix="soarpack-cache-") as cache_dir,
    ):
        env = child_env(server.base_url, token, cache_dir)
        # What each round times, in this order: (command, environment).
        sides = {
            "ours": (ours_cmd, env),
            "ref": (ref_cmd, env),
            "uncached": (ours_cmd, {**env, "SOARPACK_CACHE_DIR": "off"}),
            "lean_ours": (lean_ours_cmd, env),
            "lean_ref": (lean_ref_cmd, env),
        }
        timed(ours_cmd, env)  # fills the manifest cache; warms OS file cache and .pyc files
        timed(ref_cmd, env)
        times: dict[str, list[float]] = {name: [] for name in sides}
        for number in range(1, repeat + 1):
            log(f"round {number}/{repeat}")
            for name, (cmd, side_env) in sides.items():
                times[name].append(timed(cmd, side_env))
        imports = import_costs(python, env)

    def ms(name: str) -> float:
        return statistics.median(times[name]) * 1000

    def ratio(ours: str, ref: str) -> float:
        """The median of the rounds' own ratios (each round pairs the two)."""
        return statistics.median(o / r for o, r in zip(times[ours], times[ref], strict=True))

    return {
        "cold_start_command": f"soarpack invoke {ACTION} --input '{INPUTS}' --compact",
        "cold_start_ms": ms("ours"),
        "cold_start_import_httpx_ms": ms("ref"),
        "cold_start_uncached_ms": ms("uncached"),
        "cold_start_ratio": ratio("ours", "ref"),
        "cold_start_uncached_ratio": ratio("uncached", "ref"),
        "cold_start_lean_ms": ms("lean_ours"),
        "cold_start_lean_import_httpx_ms": ms("lean_ref"),
        "cold_start_lean_ratio": ratio("lean_ours", "lean_ref"),
        "cold_start_rounds": repeat,
        "cold_start_rounds_ms": [x * 1000 for x in times["ours"]],
        "cold_start_import_httpx_rounds_ms": [x * 1000 for x in times["ref"]],
        "cold_start_imports_ms": imports,
        "cold_start_target": TARGET_RATIO,
        "cold_start_met": ratio("ours", "ref") <= TARGET_RATIO,
    }


def render_table(r: dict[str, Any]) -> str:
    verdict = "met" if r["cold_start_met"] else "NOT met"
    rows = [
        ("", "ms (median)", ""),
        (f"soarpack invoke {ACTION} (sandbox, loopback)", f"{r['cold_start_ms']:,.0f}", ""),
        ('python -c "import httpx"', f"{r['cold_start_import_httpx_ms']:,.0f}", ""),
        (
            "soarpack invoke, manifest cache off",
            f"{r['cold_start_uncached_ms']:,.0f}",
            f"{r['cold_start_uncached_ratio']:.2f}x",
        ),
        ("ratio", f"{r['cold_start_ratio']:.2f}x", f"target <= {TARGET_RATIO:g}x: {verdict}"),
        ("without httpx's CLI module, both sides (a lean install):", "", ""),
        ("  soarpack invoke", f"{r['cold_start_lean_ms']:,.0f}", ""),
        ('  python -c "import httpx"', f"{r['cold_start_lean_import_httpx_ms']:,.0f}", ""),
        ("  ratio", f"{r['cold_start_lean_ratio']:.2f}x", ""),
    ]
    width = max(len(row[0]) for row in rows)
    lines = [f"CLI cold start, {r['cold_start_rounds']} rounds each, new process per run"]
    lines += [f"{a.ljust(width)}  {b:>11}  {c}".rstrip() for a, b, c in rows]
    shown = ", ".join(f"{i['package']} {i['ms']:.0f}" for i in r["cold_start_imports_ms"])
    lines.append(f"import time of our command by top-level package (ms): {shown}")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cold_start", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="runs of each side")
    args = parser.parse_args(argv)
    result = run(max(1, args.repeat))
    print(json.dumps(result, indent=2) if args.json else render_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
