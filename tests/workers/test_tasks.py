"""The worker task, in this process (no Celery): how each delivery is settled.

The task's ledger is a real Redis; the engine talks to the sandbox in process. A worker
that "died" is simulated the way Redis would see it: the task is marked started and
nobody holds its lease.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from soarpack import errors
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import SandboxState
from soarpack.workers import wire
from soarpack.workers.ledger import PREFIX, TaskLedger
from soarpack.workers.redis_server import RedisServer
from soarpack.workers.tasks import execute
from tests.workers.conftest import lacework_engine, ledger_on

USER = "ex-users-1"
ALERT = "ex-alerts-1"


@pytest.fixture
def ledger(redis_server: RedisServer) -> Iterator[TaskLedger]:
    # Database 1: each module its own; the end-to-end workers use 0.
    with ledger_on(redis_server, 1) as found:
        yield found


@pytest.fixture
def engine(pack: Pack, tenant: SandboxState) -> Iterator[Engine]:
    with lacework_engine(pack, tenant) as found:
        yield found


def sent(tenant: SandboxState, action: str) -> int:
    return sum(1 for e in tenant.logged_requests() if e.get("action") == action)


def died_while_running(ledger: TaskLedger, task_id: str) -> None:
    ledger.client.set(f"{PREFIX}{task_id}:started", "a-dead-worker")


def run(engine: Engine, ledger: TaskLedger, task_id: str, action: str, inputs: Any) -> wire.Wire:
    return execute(engine, ledger, task_id, action, inputs, 10.0, worker="this-worker")


def test_a_first_delivery_runs_and_a_repeat_returns_the_stored_result(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    task = str(uuid.uuid4())
    first = run(engine, ledger, task, "lacework_edge.users.suspend", {"user_uuid": USER})
    assert first["ok"] and first["meta"] == {"worker": "this-worker"}
    assert wire.unwrap(first).data["status_name"] == "SUSPENDED"
    again = run(engine, ledger, task, "lacework_edge.users.suspend", {"user_uuid": USER})
    assert again == first
    assert sent(tenant, "lacework_edge.users.update") == 1
    assert not ledger.client.exists(f"{PREFIX}{task}:lease")


def test_errors_are_results_not_task_failures(engine: Engine, ledger: TaskLedger) -> None:
    missing = run(engine, ledger, "t1", "lacework_edge.users.get", {"uuid": "nobody-here"})
    with pytest.raises(errors.NotFoundError) as raised:
        wire.unwrap(missing)
    assert raised.value.status == 404
    unknown = run(engine, ledger, "t2", "no.such.action", {})
    with pytest.raises(errors.ConfigError):
        wire.unwrap(unknown)


def test_a_read_started_by_a_dead_worker_runs_again(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    died_while_running(ledger, "t-read")
    data = run(engine, ledger, "t-read", "lacework_edge.users.get", {"uuid": USER})
    assert data["ok"] and data["meta"]["redelivered"] is True
    assert sent(tenant, "lacework_edge.users.get") == 1


def test_a_write_that_was_applied_is_verified_not_resent(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    engine.invoke("lacework_edge.users.suspend", {"user_uuid": USER})  # the dead worker's send
    died_while_running(ledger, "t-done")
    data = run(engine, ledger, "t-done", "lacework_edge.users.suspend", {"user_uuid": USER})
    assert data["ok"] and data["meta"]["redelivered"] is True
    verification = data["meta"]["verified"]
    assert verification["verified"] is True and verification["by"] == "lacework_edge.users.get"
    assert wire.unwrap(data).data is None  # no action answer: outputs read null, as on resume
    assert sent(tenant, "lacework_edge.users.update") == 1


def test_a_write_that_was_not_applied_is_sent_once(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    died_while_running(ledger, "t-absent")
    data = run(engine, ledger, "t-absent", "lacework_edge.users.suspend", {"user_uuid": USER})
    assert data["ok"] and "verified" not in data["meta"]
    assert wire.unwrap(data).data["status_name"] == "SUSPENDED"
    assert sent(tenant, "lacework_edge.users.update") == 1


def test_a_write_without_verify_is_in_doubt_and_not_resent(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    died_while_running(ledger, "t-doubt")
    inputs = {"alert_uuid": ALERT, "note": "contained"}
    data = run(engine, ledger, "t-doubt", "lacework_edge.alerts.add_note", inputs)
    with pytest.raises(errors.InDoubtError) as raised:
        wire.unwrap(data)
    assert raised.value.steps == ["lacework_edge.alerts.add_note"]
    assert "no verification" in str(raised.value)
    assert sent(tenant, "lacework_edge.alerts.add_note") == 0
    assert tenant.logged_requests() == []


def test_a_dry_run_redelivered_runs_again_and_sends_nothing(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    died_while_running(ledger, "t-dry")
    data = execute(
        engine, ledger, "t-dry", "lacework_edge.users.suspend", {"user_uuid": USER}, dry_run=True
    )
    assert wire.unwrap(data).dry_run is True
    assert sent(tenant, "lacework_edge.users.update") == 0


def test_a_task_still_running_elsewhere_is_waited_for(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    """Delivered twice while the first worker still runs it (visibility timeout too short):
    the second delivery waits for the first one's result and sends nothing."""
    import json

    other = TaskLedger(ledger.client, holder="the-other-worker", lease_seconds=1.0)
    assert other.acquire("t-held") == "first"
    answer = wire.success(engine.invoke("lacework_edge.users.suspend", {"user_uuid": USER}))

    def finish_later() -> None:
        time.sleep(0.4)
        other.finish("t-held", answer)

    threading.Thread(target=finish_later).start()
    data = run(engine, ledger, "t-held", "lacework_edge.users.suspend", {"user_uuid": USER})
    other.close()
    assert json.dumps(data["result"]) == json.dumps(answer["result"])
    assert sent(tenant, "lacework_edge.users.update") == 1


def test_a_lapsed_lease_means_the_holder_died(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    dead = TaskLedger(ledger.client, holder="killed", lease_seconds=0.3)
    assert dead.acquire("t-lapse") == "first"
    dead.release("t-lapse")  # its refresher stops keeping the lease: as if killed
    started = time.monotonic()
    data = run(engine, ledger, "t-lapse", "lacework_edge.users.suspend", {"user_uuid": USER})
    dead.close()
    assert time.monotonic() - started >= 0.2
    assert data["meta"]["redelivered"] is True
    assert sent(tenant, "lacework_edge.users.update") == 1
