"""Playbooks through two worker processes and a real Redis, against the sandbox over HTTP.

1. A 200-item for_each: every item's request reaches the tenant exactly once, every
   output is right, both workers did work, and no credential ever passes through Redis.
2. A worker is killed (SIGKILL) mid-run: its tasks are redelivered after the visibility
   timeout and nothing is lost or repeated: every user is suspended, and no user's
   update (the write) is sent twice: a redelivered write is checked with the action's
   `verify` read and only sent again if it was not applied.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
import yaml

from soarpack.cli.main import main
from soarpack.cli.workers import engine_for_server
from soarpack.config import Config
from soarpack.pack import Pack
from soarpack.playbook import run_playbook
from soarpack.playbook.result import RunResult
from soarpack.sandbox import start_server
from soarpack.server import build_service, create_app
from soarpack.server.auth import hash_key, new_key
from soarpack.server.settings import load_server_settings
from soarpack.workers.celeryapp import BROKER_ENV
from soarpack.workers.dispatch import CeleryEngine
from soarpack.workers.ledger import PREFIX as LEDGER_PREFIX
from soarpack.workers.signing import TASK_KEY_ENV
from tests.conftest import CANARY, REPO
from tests.workers.conftest import Cluster, RedisMonitor, every_value

pytestmark = pytest.mark.slow
# proto.EnumStatus of a Lacework Edge user, as the tenant stores it.
ACTIVE, SUSPENDED = 2, 3

BOOK = """
name: {name}
description: A for_each through Celery workers (tests/workers).
concurrency: 16
inputs:
  type: object
  required: [ids]
  properties: {{ids: {{type: array, items: {{type: string}}}}}}
steps:
  - id: each
    action: {action}
    for_each: "${{{{ inputs.ids }}}}"
    concurrency: 16
    timeout: 30
    approval: none
    with: {{{target}: "${{{{ item }}}}"}}
    outputs: {outputs}
outputs:
  values: "${{{{ steps.each.outputs.value }}}}"
"""


def book(folder: Path, name: str, action: str, target: str, outputs: str) -> Path:
    path = folder / f"{name}.yaml"
    text = BOOK.format(name=name, action=action, target=target, outputs=outputs)
    path.write_text(text, encoding="utf-8")
    return path


def users(cluster: Cluster) -> list[dict[str, Any]]:
    api_user = cluster.state.lacework_edge.api_user_uuid
    return [u for u in cluster.state.lacework_edge.store("users") if u["uuid"] != api_user]


def requests_by_user(cluster: Cluster, action: str, since: int = 0) -> Counter[str]:
    return Counter(
        str(entry["path"]).rsplit("/", 1)[-1]
        for entry in cluster.state.logged_requests()[since:]
        if entry.get("action") == action
    )


def leases_held(broker: str, holder_prefix: str) -> int:
    """Tasks a worker is running right now, by the leases it holds in the task ledger."""
    client = redis.Redis.from_url(broker)
    try:
        held = [client.get(key) or b"" for key in client.scan_iter(f"{LEDGER_PREFIX}*:lease")]
        return sum(value.decode().startswith(holder_prefix) for value in held)
    finally:
        client.close()


def coordinator(cluster: Cluster, pack: Pack) -> CeleryEngine:
    # The coordinator's config holds no vendor credential at all: the workers have them.
    config = Config(env={TASK_KEY_ENV: cluster.task_key})
    return CeleryEngine(pack, config, broker=cluster.broker, queue_margin=30)


def test_a_200_item_for_each_runs_each_item_exactly_once(
    cluster: Cluster, pack: Pack, tmp_path: Path
) -> None:
    targets = users(cluster)[:200]
    assert len(targets) == 200
    path = book(
        tmp_path,
        "fan-out",
        "lacework_edge.users.get",
        "uuid",
        '{value: "${{ [result.uuid, result.display_name] }}"}',
    )
    since = len(cluster.state.logged_requests())
    monitor = RedisMonitor(cluster.broker)
    started = time.perf_counter()
    try:
        with coordinator(cluster, pack) as engine:
            result = run_playbook(
                path, {"ids": [u["uuid"] for u in targets]}, engine=engine, runs_dir_path=tmp_path
            )
            ran_on = dict(engine.ran_on)
    finally:
        monitor.close()
    elapsed = time.perf_counter() - started

    assert result.status == "succeeded", result.to_dict()
    assert result.outputs["values"] == [[u["uuid"], u["display_name"]] for u in targets]
    sent = requests_by_user(cluster, "lacework_edge.users.get", since)
    assert sent == Counter({u["uuid"]: 1 for u in targets}), "every item sent exactly once"
    assert len(ran_on) == 2 and all(count > 0 for count in ran_on.values()), ran_on
    assert sum(ran_on.values()) == 200
    # Neither the messages that went through Redis nor anything left in it hold the
    # vendor credential: the workers read it from their own environment.
    assert monitor.commands, "the monitor saw the run's traffic"
    assert "lacework_edge.users.get" in monitor.text()
    assert CANARY not in monitor.text()
    assert CANARY not in every_value(cluster.broker)
    print(f"200 items through 2 workers: {elapsed:.1f} s")  # a figure, not a test


def test_soarpack_run_with_the_celery_executor(
    cluster: Cluster,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(TASK_KEY_ENV, cluster.task_key)
    # The broker URL holds the password: from the environment, never from argv.
    monkeypatch.setenv(BROKER_ENV, cluster.broker)
    targets = [u["uuid"] for u in users(cluster)[:3]]
    path = book(
        tmp_path, "cli-run", "lacework_edge.users.get", "uuid", '{value: "${{ result.uuid }}"}'
    )
    argv = ["--pack", str(REPO), "run", str(path), "--executor", "celery"]
    argv += ["--input", f"ids={json.dumps(targets)}", "--json", "--quiet"]
    argv += ["--runs-dir", str(tmp_path / "runs")]
    assert main(argv) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "succeeded" and shown["outputs"] == {"values": targets}


def test_killing_a_worker_mid_run_loses_and_repeats_nothing(
    cluster: Cluster, pack: Pack, tmp_path: Path
) -> None:
    targets = [u for u in users(cluster)[200:] if u["status"] == ACTIVE][:32]
    assert len(targets) >= 30
    path = book(
        tmp_path,
        "suspend-all",
        "lacework_edge.users.suspend",
        "user_uuid",
        '{value: "${{ result.status_name }}"}',
    )
    # Each update takes a while, so every worker thread has an item in flight at the kill.
    cluster.state.lacework_edge.faults.push({"delay": 0.4}, count=64, match="users.update")
    since = len(cluster.state.logged_requests())
    victim, survivor = cluster.workers[:2]
    outcome: list[RunResult | BaseException] = []

    def drive(engine: CeleryEngine) -> None:
        try:
            ids = [u["uuid"] for u in targets]
            outcome.append(run_playbook(path, {"ids": ids}, engine=engine, runs_dir_path=tmp_path))
        except BaseException as exc:  # shown by the assertion below, not lost in the thread
            outcome.append(exc)

    with coordinator(cluster, pack) as engine:
        run = threading.Thread(target=drive, args=(engine,))
        run.start()
        give_up = time.monotonic() + 20
        # Kill once updates are flowing and the victim is running some of them itself.
        while (
            sum(requests_by_user(cluster, "lacework_edge.users.update", since).values()) < 2
            # Two at once: one of them could end in the moment before the kill.
            or leases_held(cluster.broker, victim.hostname_prefix) < 2
        ):
            assert time.monotonic() < give_up and not outcome, f"the run never got going {outcome}"
            time.sleep(0.02)
        victim.kill()
        # Longer than the coordinator's own wait (step timeout + queue margin): a task that
        # is never redelivered fails the run with a RequestTimeout, shown below.
        run.join(90)
        assert not run.is_alive(), "the run did not finish after the kill"
        ran_on, redelivered, verified = dict(engine.ran_on), engine.redelivered, engine.verified

    [result] = outcome
    assert isinstance(result, RunResult), result
    assert result.status == "succeeded", result.to_dict()
    # Nothing lost: every user is suspended, and every item has its outcome.
    store = cluster.state.lacework_edge.store("users")
    assert [store.require(u["uuid"])["status"] for u in targets] == [SUSPENDED] * len(targets)
    values = result.outputs["values"]
    assert len(values) == len(targets)
    # An item settled by verification has no action answer: its output reads null.
    assert values.count(None) == verified
    assert set(values) <= {"SUSPENDED", None}
    # Nothing repeated: one update per user, though some were delivered twice.
    updates = requests_by_user(cluster, "lacework_edge.users.update", since)
    assert updates == Counter({u["uuid"]: 1 for u in targets})
    # The victim had tasks in flight (it may not have finished any before the kill).
    assert redelivered >= 1, "the killed worker had tasks in flight"
    assert ran_on[next(n for n in ran_on if n.startswith(survivor.hostname_prefix))] > 0


def test_the_server_runs_actions_on_workers_with_executor_celery(
    cluster: Cluster, pack: Pack, tmp_path: Path
) -> None:
    key = new_key()
    config_path = tmp_path / "server.yaml"
    config_path.write_text(
        yaml.safe_dump(
            {
                "server": {
                    "executor": "celery",
                    "runs_dir": str(tmp_path / "runs"),
                    "keys": [{"id": "soar", "sha256": hash_key(key)}],
                },
                "workers": {
                    "broker": cluster.broker,
                    "queue_margin": 30,
                    "task_key": cluster.task_key,
                },
            }
        )
    )
    # No vendor credential on the server: only the workers have them.
    config = Config(config_path, env={})
    engine = engine_for_server(pack, config, load_server_settings(config).executor)
    service = build_service(pack, config, engine=engine)
    assert isinstance(service.engine, CeleryEngine)
    target = users(cluster)[0]
    since = len(cluster.state.logged_requests())
    try:
        with (
            start_server(create_app(service)) as server,
            httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as client,
        ):
            answer = client.post("/actions/lacework_edge.users.get", json={"uuid": target["uuid"]})
            refused = client.post("/actions/lacework_edge.users.get", json={"uuid": 7})
    finally:
        service.close()
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["uuid"] == target["uuid"]
    assert sum(service.engine.ran_on.values()) == 1, "the call ran on a worker"
    assert refused.status_code == 400  # validated by the server: never dispatched
    assert requests_by_user(cluster, "lacework_edge.users.get", since) == Counter(
        {target["uuid"]: 1}
    )
