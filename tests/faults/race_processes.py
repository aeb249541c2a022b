"""The resume race with real processes: 8 `soarpack run --resume RUN` at once.

A run is killed (in this process) during its write, against a loopback sandbox; then 8
`python -m soarpack run --resume RUN` processes are started together. Each must answer
by its exit code: 0 or 11 (it drove the run: succeeded, or stopped in doubt), 13 (another
process drives it: "run RUN is being driven by pid N"), or 4 with "already finished".
Then the operator settles the run as in race_trials.py, and the same checks apply.
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import httpx

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from tests.faults.common import PYTHON, REPO, TOKEN, child_env
from tests.faults.playbook_trials import _loopback_env
from tests.faults.race_trials import (
    BOOKS,
    KILLED,
    Box,
    KillDuringWrite,
    Killed,
    RaceTotals,
    _check,
    _finish,
    _started,
)

KIND = "resume_processes"
ANSWERS = {0: "drove, succeeded", 11: "drove, in_doubt", 13: "busy"}


def process_trial(pack: Pack, folder: Path, rng: random.Random, totals: RaceTotals) -> None:
    book_kind, kill = rng.choice(KILLED), rng.choice(("before", "after"))
    text, write = BOOKS[book_kind]
    folder.mkdir(parents=True, exist_ok=True)
    book = folder / f"{book_kind}.yaml"
    book.write_text(text, encoding="utf-8")
    state = SandboxState(token=TOKEN)
    with start_server(create_sandbox_app(state)) as server:
        env = _loopback_env(server.base_url)
        transport = KillDuringWrite(httpx.HTTPTransport(), kill)
        engine = Engine(
            pack, Config(env=env), transports={"lacework_edge": transport}, sleep=lambda s: None
        )
        box = Box(state, engine, folder / "runs", book, write)
        try:
            run_id = _started(box, kill)
            command = [PYTHON, "-m", "soarpack", "run", "--resume", run_id, "--quiet"]
            child = child_env(folder, SOARPACK_RUNS_DIR=str(box.runs), **env)
            started = [
                subprocess.Popen(
                    command,
                    env=child,
                    cwd=REPO,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for _ in range(8)
            ]
            for process in started:
                _, err = process.communicate(timeout=300)
                code = process.returncode
                answer = ANSWERS.get(code)
                if code == 4 and "already finished" in err:
                    answer = "finished"
                if code == 13 and f"run {run_id} is being driven by pid " not in err:
                    answer = None
                if answer is None:
                    totals.failures.append(f"{KIND} {run_id}: exit {code}: {err[-300:]}")
                    continue
                totals.answers[f"{KIND} resume: {answer}"] += 1
            _finish(box, run_id)
            _check(box, run_id, KIND, True, totals)
        except (Exception, Killed) as exc:
            totals.failures.append(f"{KIND} {folder.name}: {type(exc).__name__}: {exc}")
        finally:
            engine.close()
            transport.close()
    totals.trials[KIND] += 1


def run_process_races(pack: Pack, workdir: Path, trials: int, *, seed: int = 0) -> RaceTotals:
    totals = RaceTotals()
    for number in range(trials):
        process_trial(pack, workdir / KIND / str(number), random.Random(f"{seed}-{number}"), totals)
    return totals
