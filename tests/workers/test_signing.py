"""Signed tasks, in this process (no Celery): what a worker refuses, and what it runs.

The worker's task entry (`execute_signed`) runs against a real Redis ledger and the
sandbox in process; every test counts what the tenant received. A forged, tampered,
re-addressed or expired message reaches no vendor; a resent copy of a finished task
returns the stored answer and sends nothing.
"""

from __future__ import annotations

import json
import logging
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
from soarpack.workers.signing import RESULT_TTL_SECONDS, new_task_key, sign, verify
from soarpack.workers.tasks import execute_signed
from tests.workers.conftest import lacework_engine, ledger_on

USER = "ex-users-1"
SUSPEND = "lacework_edge.users.suspend"
APPROVED = {"granted": "approval", "run": "run-1", "step": "suspend", "approver": "j.doe"}
KEY = new_task_key()


@pytest.fixture
def ledger(redis_server: RedisServer) -> Iterator[TaskLedger]:
    # Database 2: each module its own; the end-to-end workers use 0.
    with ledger_on(redis_server, 2) as found:
        yield found


@pytest.fixture
def engine(pack: Pack, tenant: SandboxState) -> Iterator[Engine]:
    with lacework_engine(pack, tenant) as found:
        yield found


def vendor_requests(tenant: SandboxState) -> int:
    """Every request the tenant received (a suspend also logs in and reads the user)."""
    return len(tenant.logged_requests())


def updates(tenant: SandboxState) -> list[str]:
    """The users whose update (the suspend's write) the tenant received."""
    return [
        str(e["path"]).rsplit("/", 1)[-1]
        for e in tenant.logged_requests()
        if e.get("action") == "lacework_edge.users.update"
    ]


def signed(
    task_id: str,
    action: str = SUSPEND,
    inputs: dict[str, Any] | None = None,
    *,
    approval: dict[str, Any] | None = APPROVED,
    key: str = KEY,
    **options: Any,
) -> list[str]:
    return sign(
        key,
        task_id,
        action,
        {"user_uuid": USER} if inputs is None else inputs,
        timeout=options.pop("timeout", 10.0),
        dry_run=options.pop("dry_run", False),
        lifetime=options.pop("lifetime", 40.0),
        approval=approval,
        **options,
    )


def deliver(engine: Engine, ledger: TaskLedger, task_id: str, args: Any, **kw: Any) -> wire.Wire:
    return execute_signed(engine, ledger, KEY, task_id, args, worker="this-worker", **kw)


def refused(data: wire.Wire, reason: str) -> errors.TaskRefused:
    with pytest.raises(errors.TaskRefused, match=reason) as raised:
        wire.unwrap(data)
    return raised.value


def test_a_signed_task_runs_once(engine: Engine, ledger: TaskLedger, tenant: SandboxState) -> None:
    task = str(uuid.uuid4())
    data = deliver(engine, ledger, task, signed(task))
    assert wire.unwrap(data).data["status_name"] == "SUSPENDED"
    updates = [
        e for e in tenant.logged_requests() if e.get("action") == "lacework_edge.users.update"
    ]
    assert len(updates) == 1 and updates[0]["path"].endswith(USER)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        # The reproducer: what `send_task("soarpack.invoke", [...])` puts on the queue.
        ([SUSPEND, {"user_uuid": USER}], None),
        ([SUSPEND, {"user_uuid": USER}, 10.0, False], None),
        ([], {"action": SUSPEND, "inputs": {"user_uuid": USER}}),
        ("not even a list", None),
        ([json.dumps({"action": SUSPEND}), "0" * 64], None),
        (["\ud800", "\udfff"], None),  # lone surrogates, as a JSON decoder may give them
    ],
)
def test_an_unsigned_task_reaches_no_vendor(
    engine: Engine,
    ledger: TaskLedger,
    tenant: SandboxState,
    caplog: pytest.LogCaptureFixture,
    args: Any,
    kwargs: Any,
) -> None:
    with caplog.at_level(logging.WARNING, logger="soarpack.workers"):
        data = execute_signed(engine, ledger, KEY, "forged-1", args, kwargs, worker="w")
    error = refused(data, "Task forged-1 was refused")
    assert error.task_id == "forged-1" and "Nothing was sent" in str(error)
    assert vendor_requests(tenant) == 0
    assert "refused task forged-1" in caplog.text and "nothing was sent" in caplog.text
    assert not ledger.client.exists(f"{PREFIX}forged-1:started"), "the ledger is untouched"


def test_a_task_signed_with_another_key_reaches_no_vendor(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    data = deliver(engine, ledger, "t-other", signed("t-other", key=new_task_key()))
    refused(data, "signature does not match")
    assert vendor_requests(tenant) == 0


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body: body["inputs"].update(user_uuid="ex-users-2"),
        lambda body: body.update(action="lacework_edge.users.get"),
        lambda body: body.update(dry_run=True),
        lambda body: body.update(expires_at=body["expires_at"] + 3600),
        lambda body: body["approval"].update(approver="someone-else"),
    ],
    ids=["inputs", "action", "dry_run", "expiry", "approver"],
)
def test_a_tampered_task_reaches_no_vendor(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState, tamper: Any
) -> None:
    text, mac = signed("t-tamper")
    body = json.loads(text)
    tamper(body)
    data = deliver(engine, ledger, "t-tamper", [json.dumps(body), mac])
    refused(data, "signature does not match")
    # Whitespace alone is a change too: the signature covers the exact text.
    data = deliver(engine, ledger, "t-tamper", [text + " ", mac])
    refused(data, "signature does not match")
    assert vendor_requests(tenant) == 0


def test_a_replay_after_the_task_finished_returns_its_answer_and_sends_nothing(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState, caplog: pytest.LogCaptureFixture
) -> None:
    task = str(uuid.uuid4())
    message = signed(task)
    first = deliver(engine, ledger, task, message)
    sent = vendor_requests(tenant)
    assert updates(tenant) == [USER]
    with caplog.at_level(logging.WARNING, logger="soarpack.workers"):
        again = deliver(engine, ledger, task, message)
    assert again == first
    assert vendor_requests(tenant) == sent, "the replay reached no vendor"
    assert "delivered again after it finished" in caplog.text


def test_a_replay_under_another_task_id_reaches_no_vendor(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    """Re-addressed to dodge the ledger: the id is signed, so it no longer fits."""
    message = signed("t-original")
    deliver(engine, ledger, "t-original", message)
    sent = vendor_requests(tenant)
    data = deliver(engine, ledger, "t-fresh-id", message)
    refused(data, "signed for another task")
    assert vendor_requests(tenant) == sent and updates(tenant) == [USER]


def test_a_replay_after_expiry_reaches_no_vendor(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    message = signed("t-late", now=1_000_000.0, lifetime=40.0)
    # Even when the ledger no longer remembers the task, or never saw it.
    data = deliver(engine, ledger, "t-late", message, now=1_000_041.0)
    refused(data, "expired 1 s ago")
    assert vendor_requests(tenant) == 0
    assert deliver(engine, ledger, "t-late", message, now=1_000_039.0)["ok"]
    assert updates(tenant) == [USER]  # just inside its window, it runs


def test_a_task_from_the_future_or_with_a_window_beyond_the_ledger_is_refused(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    ahead = signed("t-ahead", now=1_000_000.0)
    refused(deliver(engine, ledger, "t-ahead", ahead, now=1_000_000.0 - 120), "in the future")
    endless = signed("t-long", lifetime=RESULT_TTL_SECONDS + 1)
    refused(deliver(engine, ledger, "t-long", endless), "longer than the task ledger")
    assert vendor_requests(tenant) == 0


@pytest.mark.parametrize(
    ("approval", "reason"),
    [
        (None, "carries no approval record"),
        ({}, "carries no approval record"),
        ({"granted": "because", "run": "r", "step": "s"}, "names no known grant"),
        ({"granted": "approval", "run": "r", "step": "s"}, "lacks approver"),
        ({"granted": "approval", "run": "r", "step": "s", "approver": ""}, "lacks approver"),
        ({"granted": "api_key"}, "lacks api_key"),
    ],
)
def test_a_destructive_task_without_an_approval_record_is_refused(
    engine: Engine,
    ledger: TaskLedger,
    tenant: SandboxState,
    approval: dict[str, Any] | None,
    reason: str,
) -> None:
    data = deliver(engine, ledger, "t-unapproved", signed("t-unapproved", approval=approval))
    refused(data, f"lacework_edge.users.suspend is destructive and .*{reason}")
    assert vendor_requests(tenant) == 0


@pytest.mark.parametrize(
    "approval",
    [
        {"granted": "approval: none", "run": "r", "step": "delete", "under": "s", "approver": "x"},
        {"granted": "api_key", "api_key": "soar"},
    ],
)
def test_the_other_grants_are_accepted(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState, approval: dict[str, Any]
) -> None:
    task = str(uuid.uuid4())
    assert deliver(engine, ledger, task, signed(task, approval=approval))["ok"]
    assert updates(tenant) == [USER]


def test_reads_writes_and_dry_runs_need_no_approval_record(
    engine: Engine, ledger: TaskLedger, tenant: SandboxState
) -> None:
    read = signed("t-read", "lacework_edge.users.get", {"uuid": USER}, approval=None)
    assert deliver(engine, ledger, "t-read", read)["ok"]
    dry = signed("t-dry", approval=None, dry_run=True)
    assert wire.unwrap(deliver(engine, ledger, "t-dry", dry)).dry_run is True
    assert updates(tenant) == []
    assert {e["method"] for e in tenant.logged_requests()} == {"GET"}


def test_verify_gives_back_what_was_signed() -> None:
    inputs = {"user_uuid": USER, "note": "é \u2028 ✓", "n": [1, 2.5, None, True]}
    task = verify(KEY, "t1", signed("t1", inputs=inputs, timeout=None, now=5.0), now=6.0)
    assert (task.action, task.inputs, task.timeout, task.dry_run) == (SUSPEND, inputs, None, False)
    assert (task.issued_at, task.expires_at, task.approval) == (5.0, 45.0, APPROVED)


def test_inputs_json_cannot_carry_are_bad_input_before_anything_is_sent() -> None:
    with pytest.raises(errors.InputError, match="NaN or an infinite number"):
        signed("t-nan", inputs={"user_uuid": USER, "weight": float("nan")})


def test_a_refusal_log_line_cannot_be_forged_by_the_task_id(
    engine: Engine, ledger: TaskLedger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="soarpack.workers"):
        deliver(engine, ledger, "x\nINFO all is well", [SUSPEND, {}])
    [record] = [r for r in caplog.records if r.name == "soarpack.workers"]
    assert "\n" not in record.getMessage()
    assert "refused task 'x\\nINFO all is well'" in record.getMessage()
