"""Workers run only what the coordinator sent: two worker processes on a real Redis
(with a password), against the sandbox over HTTP; every test counts what the tenant got.

1. A task put on the queue by someone else (the broker password is all they have) is
   refused by the worker, logged, and reaches no vendor.
2. A message the coordinator sent, captured and sent again after its task finished,
   returns the stored answer and reaches no vendor; under a new task id, or after its
   expiry, it is refused.
3. Destructive calls carry what allowed them: a playbook step's approval (and a step
   declaring `approval: none` under it), and the server's API key; the worker logs it.
4. Neither the task key nor the broker password shows in any worker log or in Redis.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from soarpack import errors
from soarpack.cli.workers import engine_for_server
from soarpack.config import Config
from soarpack.pack import Pack
from soarpack.playbook import approve, resume_run, run_playbook
from soarpack.sandbox import start_server
from soarpack.server import build_service, create_app
from soarpack.server.auth import hash_key, new_key
from soarpack.server.settings import load_server_settings
from soarpack.workers import wire
from soarpack.workers.celeryapp import TASK_NAME, WorkerSettings, make_app
from soarpack.workers.dispatch import CeleryEngine
from soarpack.workers.signing import TASK_KEY_ENV
from tests.workers.conftest import Cluster, every_value

pytestmark = pytest.mark.slow
ACTIVE = 2
SUSPEND = "lacework_edge.users.suspend"
APPROVED = {"granted": "approval", "run": "r-1", "step": "suspend", "approver": "j.doe"}

BOOK = """
name: contain-on-workers
description: Two suspensions through the workers, the first one approved by a person.
inputs:
  type: object
  required: [first, second]
  properties: {first: {type: string}, second: {type: string}}
steps:
  - id: suspend
    action: lacework_edge.users.suspend
    approval: {prompt: "Suspend ${{ inputs.first }}?", timeout: 3600}
    with: {user_uuid: "${{ inputs.first }}"}
  - id: also
    needs: [suspend]
    action: lacework_edge.users.suspend
    approval: none
    with: {user_uuid: "${{ inputs.second }}"}
"""


@pytest.fixture(scope="module")
def active_users(cluster: Cluster) -> Iterator[str]:
    """A fresh active user for each test that suspends one."""
    api_user = cluster.state.lacework_edge.api_user_uuid
    store = cluster.state.lacework_edge.store("users")
    return iter([u["uuid"] for u in store if u["uuid"] != api_user and u["status"] == ACTIVE])


@pytest.fixture(scope="module")
def outsider(cluster: Cluster) -> Iterator[Any]:
    """A Celery client on the same broker: it has the password, not the task key."""
    app = make_app(WorkerSettings(cluster.broker, cluster.broker), name="outsider")
    yield app
    app.close()


def coordinator(cluster: Cluster, pack: Pack, **options: Any) -> CeleryEngine:
    config = Config(env={TASK_KEY_ENV: cluster.task_key})
    return CeleryEngine(pack, config, broker=cluster.broker, **{"queue_margin": 30, **options})


def sent_since(cluster: Cluster, since: int) -> list[dict[str, Any]]:
    return cluster.state.logged_requests()[since:]


def worker_logs(cluster: Cluster) -> str:
    return "\n".join(w.log.read_text(errors="replace") for w in cluster.workers)


def logged(cluster: Cluster, text: str) -> bool:
    """Whether a worker logged `text` (within a few seconds: logs are written as it goes)."""
    give_up = time.monotonic() + 10
    while text not in worker_logs(cluster):
        if time.monotonic() > give_up:
            return False
        time.sleep(0.05)
    return True


def answer_of(app: Any, args: Any, task_id: str | None = None) -> wire.Wire:
    """What a worker answers to this message (a result Celery kept for the id is
    forgotten first, so the answer is this delivery's, not an earlier one's)."""
    if task_id is not None:
        app.backend.forget(task_id)
    pending = app.send_task(TASK_NAME, args=args, task_id=task_id or str(uuid.uuid4()))
    data: wire.Wire = pending.get(timeout=30, propagate=False)
    return data


def test_a_task_sent_from_outside_reaches_no_vendor(
    cluster: Cluster, outsider: Any, active_users: Iterator[str]
) -> None:
    user = next(active_users)
    since = len(cluster.state.logged_requests())
    # The reproducer, and the same with a made-up signature.
    for args in ([SUSPEND, {"user_uuid": user}], [f'{{"action":"{SUSPEND}"}}', "0" * 64]):
        task_id = str(uuid.uuid4())
        data = answer_of(outsider, args, task_id)
        with pytest.raises(errors.TaskRefused, match="Nothing was sent"):
            wire.unwrap(data)
        assert logged(cluster, f"refused task {task_id}: it is not signed") or logged(
            cluster, f"refused task {task_id}: its signature does not match"
        )
    assert sent_since(cluster, since) == [], "no request reached the tenant"
    store = cluster.state.lacework_edge.store("users")
    assert store.require(user)["status"] == ACTIVE


def test_a_captured_task_sent_again_reaches_no_vendor(
    cluster: Cluster, pack: Pack, outsider: Any, active_users: Iterator[str]
) -> None:
    from celery.signals import before_task_publish

    user = next(active_users)
    captured: list[tuple[str, list[str]]] = []

    def capture(headers: dict[str, Any], body: Any, **_: Any) -> None:
        captured.append((str(headers["id"]), list(body[0])))  # protocol 2: (args, kwargs, embed)

    before_task_publish.connect(capture, weak=False)
    try:
        # A short window (2 s of timeout + 1 s of queue margin) so it expires in the test.
        with coordinator(cluster, pack, queue_margin=1) as engine:
            deadline = time.monotonic() + 2
            result = engine.invoke(
                SUSPEND, {"user_uuid": user}, deadline=deadline, approval=APPROVED
            )
    finally:
        before_task_publish.disconnect(capture)
    assert result.data["status_name"] == "SUSPENDED"
    [(task_id, args)] = captured
    since = len(cluster.state.logged_requests())

    # The same message again: the worker answers with the stored result, sends nothing.
    again = answer_of(outsider, args, task_id)
    assert wire.unwrap(again).data["status_name"] == "SUSPENDED"
    assert logged(cluster, f"task {task_id} ({SUSPEND}) was delivered again after it finished")
    # Under a fresh task id, dodging the ledger: refused.
    fresh = answer_of(outsider, args)
    with pytest.raises(errors.TaskRefused, match="signed for another task"):
        wire.unwrap(fresh)
    # Once its window has passed, even under its own id: refused.
    time.sleep(3.5)
    late = answer_of(outsider, args, task_id)
    with pytest.raises(errors.TaskRefused, match="expired"):
        wire.unwrap(late)
    assert logged(cluster, f"refused task {task_id}: it expired")
    assert sent_since(cluster, since) == [], "no replay reached the tenant"


def test_a_destructive_task_without_an_approval_is_refused_by_the_coordinator_first(
    cluster: Cluster, pack: Pack, active_users: Iterator[str]
) -> None:
    user = next(active_users)
    since = len(cluster.state.logged_requests())
    with (
        coordinator(cluster, pack) as engine,
        pytest.raises(errors.TaskRefused, match="carries no approval record"),
    ):
        engine.invoke(SUSPEND, {"user_uuid": user})
    assert sent_since(cluster, since) == []


def test_a_playbook_s_approvals_travel_with_its_destructive_tasks(
    cluster: Cluster, pack: Pack, tmp_path: Path, active_users: Iterator[str]
) -> None:
    first, second = next(active_users), next(active_users)
    path = tmp_path / "contain-on-workers.yaml"
    path.write_text(BOOK, encoding="utf-8")
    runs = tmp_path / "runs"
    with coordinator(cluster, pack) as engine:
        paused = run_playbook(
            path, {"first": first, "second": second}, engine=engine, runs_dir_path=runs
        )
        assert paused.status == "waiting", paused.to_dict()
        approve(paused.run_id, "suspend", by="j.doe", runs_dir_path=runs)
        done = resume_run(paused.run_id, engine=engine, runs_dir_path=runs)
    assert done.status == "succeeded", done.to_dict()
    store = cluster.state.lacework_edge.store("users")
    assert [store.require(u)["status"] for u in (first, second)] == [3, 3]
    run = paused.run_id
    assert logged(cluster, f"allowed by approval (approver=j.doe run={run} step=suspend)")
    assert logged(
        cluster, f"allowed by approval: none (approver=j.doe run={run} step=also under=suspend)"
    )


def test_the_server_s_destructive_calls_carry_the_key_that_allowed_them(
    cluster: Cluster, pack: Pack, tmp_path: Path, active_users: Iterator[str]
) -> None:
    user = next(active_users)
    key = new_key()
    config_path = tmp_path / "server.yaml"
    scope = {"side_effects": ["read", "write", "destructive"]}
    config_path.write_text(
        yaml.safe_dump(
            {
                "server": {
                    "executor": "celery",
                    "runs_dir": str(tmp_path / "runs"),
                    "keys": [{"id": "soar-responder", "sha256": hash_key(key), **scope}],
                },
                "workers": {"broker": cluster.broker, "task_key": cluster.task_key},
            }
        )
    )
    config = Config(config_path, env={})
    engine = engine_for_server(pack, config, load_server_settings(config).executor)
    service = build_service(pack, config, engine=engine)
    try:
        with (
            start_server(create_app(service)) as server,
            httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=60
            ) as client,
        ):
            answer = client.post(f"/actions/{SUSPEND}", json={"user_uuid": user})
    finally:
        service.close()
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["status_name"] == "SUSPENDED"
    assert logged(cluster, "allowed by api_key (api_key=soar-responder)")


def test_the_task_key_and_the_broker_password_are_never_shown(cluster: Cluster) -> None:
    password = cluster.redis.password
    assert password and password in cluster.broker
    shown = worker_logs(cluster)
    assert "refused task" in shown, "the tests above ran first and were logged"
    assert cluster.task_key not in shown and password not in shown
    stored = every_value(cluster.broker)
    assert cluster.task_key not in stored and password not in stored
