"""Lacework Edge response actions end to end on the simulated tenant (in-process HTTP)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from soarpack import errors
from soarpack.engine import Engine
from soarpack.sandbox import InProcessTransport, SandboxState, create_lacework_edge_app
from tests.conftest import CANARY, EngineFactory
from tests.lacework_edge.helpers import BASE


@pytest.fixture
def tenant() -> SandboxState:
    return SandboxState(token=CANARY)


@pytest.fixture
def engine(tenant: SandboxState, make_engine: EngineFactory) -> Iterator[Engine]:
    transport = InProcessTransport(create_lacework_edge_app(tenant))
    yield make_engine(transport, "lacework_edge", base_url=BASE)
    transport.close()


def test_connection_test_logs_in_and_reads_the_account(
    engine: Engine, tenant: SandboxState
) -> None:
    result = engine.invoke("lacework_edge.connection.test", {})
    assert result.data["ok"] is True and result.data["account"] == "acme"
    assert tenant.lacework_edge.logins == 1


def test_suspended_user_reads_back_suspended_and_reactivates(engine: Engine) -> None:
    suspended = engine.invoke("lacework_edge.users.suspend", {"user_uuid": "ex-users-1"})
    assert suspended.data["status_name"] == "SUSPENDED"
    again = engine.invoke("lacework_edge.users.get", {"uuid": "ex-users-1"})
    assert again.data["status"] == 3 and again.data["status_name"] == "SUSPENDED"
    listed = engine.invoke("lacework_edge.users.query", {"status": "SUSPENDED"})
    assert "ex-users-1" in [u["uuid"] for u in listed.data["users"]]
    back = engine.invoke("lacework_edge.users.reactivate", {"user_uuid": "ex-users-1"})
    assert back.data["previous_status_name"] == "SUSPENDED"
    assert back.data["status_name"] == "ACTIVE"


def test_a_second_ack_with_a_stale_update_time_is_a_conflict(engine: Engine) -> None:
    alert = engine.invoke("lacework_edge.alerts.get", {"uuid": "ex-alerts-1"}).data
    first = engine.invoke(
        "lacework_edge.alerts.ack",
        {"alert_uuid": "ex-alerts-1", "alert_update_time": alert["update_time"]},
    )
    assert first.data["alert_update_time"] > alert["update_time"]
    with pytest.raises(errors.ConflictError) as caught:
        engine.invoke(
            "lacework_edge.alerts.ack",
            {"alert_uuid": "ex-alerts-1", "alert_update_time": alert["update_time"]},
        )
    assert caught.value.status == 409 and "alert_update_time is stale" in str(caught.value)
    now = engine.invoke("lacework_edge.alerts.get", {"uuid": "ex-alerts-1"}).data
    assert now["status_name"] == "ACKNOWLEDGED"
    assert now["update_time"] == first.data["alert_update_time"]  # the refused one changed nothing
    history = engine.invoke("lacework_edge.alerts.history", {"uuid": "ex-alerts-1"}).data
    assert len(history["investigation_actions"]) >= 1


def test_close_with_a_note_and_query_open_no_longer_lists_it(engine: Engine) -> None:
    engine.invoke(
        "lacework_edge.alerts.close",
        {"alert_uuid": "ex-alerts-1", "incident_status": "TRUE_POSITIVE", "note": "isolated"},
    )
    closed = engine.invoke("lacework_edge.alerts.get", {"uuid": "ex-alerts-1"}).data
    assert closed["status_name"] == "CLOSED" and closed["incident_status_name"] == "TRUE_POSITIVE"
    found = engine.invoke("lacework_edge.alerts.query_open", {"start_time_ms": 0}).data
    assert "ex-alerts-1" not in [a["uuid"] for a in found["alerts"]]


def test_bulk_reports_each_item(engine: Engine) -> None:
    opened = engine.invoke("lacework_edge.alerts.query_open", {"start_time_ms": 0}).data["alerts"]
    assert len(opened) >= 2
    first, second = opened[0], opened[1]
    result = engine.invoke(
        "lacework_edge.alerts.bulk",
        {
            "items": [
                {"alert_uuid": first["uuid"], "kind": "add_note", "note": "seen"},
                {"alert_uuid": second["uuid"], "kind": "ack", "alert_update_time": 1},
            ]
        },
    ).data
    assert [r["ok"] for r in result["results"]] == [True, False]
    assert result["failed"] == 1


def test_revoked_access_and_external_sharing_are_gone(engine: Engine) -> None:
    doc = engine.invoke("lacework_edge.documents.get_metadata", {"uuid": "ex-documents-1"}).data
    accesses = doc["external_access"]
    assert accesses, "the seeded document is shared"
    target = accesses[0]["access_id"]
    engine.invoke(
        "lacework_edge.documents.revoke_access",
        {
            "uuid": "ex-documents-1",
            "access_id": target,
            "normalized_document_uuid": "ex-documents-1",
        },
    )
    after = engine.invoke("lacework_edge.documents.get_metadata", {"uuid": "ex-documents-1"}).data
    assert target not in [a["access_id"] for a in after.get("external_access", [])]
    engine.invoke(
        "lacework_edge.documents.revoke_sharing", {"uuid": "ex-documents-1", "external_only": True}
    )
    final = engine.invoke("lacework_edge.documents.get_metadata", {"uuid": "ex-documents-1"}).data
    assert final["is_shared_externally"] is False
    assert all(
        not a.get("target_identity", {}).get("external") for a in final.get("external_access", [])
    )


def test_devices_of_a_user_can_be_deleted(engine: Engine) -> None:
    devices = engine.invoke("lacework_edge.users.devices", {"uuid": "ex-users-1"}).data["devices"]
    assert devices
    engine.invoke(
        "lacework_edge.devices.delete",
        {"devices": [{"user_uuid": "ex-users-1", "uuid": devices[0]["uuid"]}]},
    )
    left = engine.invoke("lacework_edge.users.devices", {"uuid": "ex-users-1"}).data["devices"]
    assert devices[0]["uuid"] not in [d["uuid"] for d in left]


def test_a_workflow_run_answered_approve_finishes_as_success(engine: Engine) -> None:
    workflow = engine.invoke(
        "lacework_edge.workflows.create", {"name": "Approve access", "execution_ttl_sec": 600}
    ).data
    run = engine.invoke(
        "lacework_edge.workflow_runs.create",
        {
            "workflow_run": {"workflow_uuid": workflow["uuid"], "user_uuid": "ex-users-1"},
            "execute_now": True,
        },
    ).data
    engine.invoke(
        "lacework_edge.workflow_runs.answer",
        {"uuid": run["uuid"], "answer_index": "0", "justification": "on call"},
    )
    waited = engine.invoke(
        "lacework_edge.workflow_runs.wait", {"uuid": run["uuid"], "poll_seconds": 1}
    ).data
    assert waited["finished"] and waited["status_name"] == "SUCCESS"


def test_temporary_access_token_secret_is_masked_outside_the_python_api(engine: Engine) -> None:
    result = engine.invoke(
        "lacework_edge.tokens.create_temporary_access", {"user_uuid": "ex-users-1", "ttl_sec": 600}
    )
    secret = result.data["secret"]
    assert secret and secret not in json.dumps(result.to_dict())


def test_the_tenant_refuses_a_wrong_api_key(
    tenant: SandboxState, make_engine: EngineFactory
) -> None:
    transport = InProcessTransport(create_lacework_edge_app(tenant))
    engine = make_engine(transport, "lacework_edge", base_url=BASE, api_key="not-the-right-key")
    with pytest.raises(errors.AuthenticationError):
        engine.invoke("lacework_edge.users.get", {"uuid": "ex-users-1"})
    transport.close()


def test_an_unknown_user_is_not_found(engine: Engine) -> None:
    with pytest.raises(errors.NotFoundError):
        engine.invoke("lacework_edge.users.get", {"uuid": "nobody"})


def test_read_only_key_gets_permission_denied_for_writes(
    engine: Engine, tenant: SandboxState
) -> None:
    tenant.lacework_edge.read_only = True
    with pytest.raises(errors.PermissionDeniedError):
        engine.invoke("lacework_edge.users.suspend", {"user_uuid": "ex-users-1"})


def test_a_server_error_is_reported(engine: Engine, tenant: SandboxState) -> None:
    tenant.lacework_edge.faults.push({"status": 500}, match="users.get")
    with pytest.raises(errors.ServerError):
        engine.invoke("lacework_edge.users.get", {"uuid": "ex-users-1"})
