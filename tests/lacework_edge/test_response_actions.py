"""The Lacework Edge response actions on the wire (respx): what each sends, in order."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from soarpack import errors
from tests.conftest import EngineFactory, Sleeps
from tests.lacework_edge.helpers import BASE, lacework_engine, login_route

ALERT = {"uuid": "a-1", "status": 1, "update_time": 1700000000123, "severity": 3}


def _router() -> respx.Router:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login_route(router)
    return router


def _sent(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


INVESTIGATIONS = [
    pytest.param(
        "lacework_edge.alerts.ack",
        {},
        {"action_type": 1, "alert_status_change": {"new_status": 2}},
        id="ack",
    ),
    pytest.param(
        "lacework_edge.alerts.set_status",
        {"status": "CLOSED"},
        {"action_type": 1, "alert_status_change": {"new_status": 3}},
        id="set_status-by-name",
    ),
    pytest.param(
        "lacework_edge.alerts.set_status",
        {"status": 2},
        {"action_type": 1, "alert_status_change": {"new_status": 2}},
        id="set_status-by-number",
    ),
    pytest.param(
        "lacework_edge.alerts.add_note",
        {"note": 'He said "{{ 7*7 }}"\nthen left'},
        {"action_type": 2, "note": {"note_text": 'He said "{{ 7*7 }}"\nthen left'}},
        id="add_note-keeps-text-as-data",
    ),
    pytest.param(
        "lacework_edge.alerts.close",
        {"incident_status": "FALSE_POSITIVE", "note": "expected"},
        {
            "action_type": 3,
            "close_with_reason": {"incident_status": 2, "note_text": "expected"},
        },
        id="close",
    ),
    pytest.param(
        "lacework_edge.alerts.run_workflow",
        {"workflow_uuid": "wf-1"},
        {"action_type": 4, "run_workflow": {"workflow_uuid": "wf-1"}},
        id="run_workflow",
    ),
]


@pytest.mark.parametrize(("name", "extra", "action"), INVESTIGATIONS)
def test_investigation_reads_the_alert_then_sends_its_update_time(
    name: str, extra: dict[str, Any], action: dict[str, Any], make_engine: EngineFactory
) -> None:
    router = _router()
    read = router.get("/api/v1/alerts/a-1").mock(return_value=httpx.Response(200, json=ALERT))
    act = router.post("/api/v1/alerts/a-1/investigation_actions").mock(
        return_value=httpx.Response(
            200, json={"alert_uuid": "a-1", "alert_update_time": 1700000000999, "history_item": {}}
        )
    )
    result = lacework_engine(make_engine, router).invoke(name, {"alert_uuid": "a-1", **extra})
    assert read.call_count == 1
    assert _sent(act) == {
        "account_name": "acme",
        "alert_uuid": "a-1",
        "alert_update_time": 1700000000123,
        "action": action,
    }
    assert result.data["alert_update_time"] == 1700000000999
    assert result.data["previous_update_time"] == 1700000000123


def test_a_given_update_time_is_sent_without_reading_and_a_stale_one_is_a_conflict(
    make_engine: EngineFactory,
) -> None:
    router = _router()
    act = router.post("/api/v1/alerts/a-1/investigation_actions").mock(
        return_value=httpx.Response(409, json={"message": "alert a-1 was updated at 1700000000555"})
    )
    engine = lacework_engine(make_engine, router)
    with pytest.raises(errors.ConflictError) as caught:
        engine.invoke("lacework_edge.alerts.ack", {"alert_uuid": "a-1", "alert_update_time": 5})
    assert _sent(act)["alert_update_time"] == 5
    assert act.call_count == 1  # a write is never blindly resent
    assert caught.value.status == 409
    assert "alert_update_time is stale" in str(caught.value)
    assert "updated at 1700000000555" in str(caught.value)


def test_query_open_sends_the_window_and_status_codes_and_names_the_statuses(
    make_engine: EngineFactory,
) -> None:
    router = _router()
    query = router.get("/api/v1/alerts").mock(
        return_value=httpx.Response(200, json={"alerts": [ALERT, {**ALERT, "status": 9}]})
    )
    result = lacework_engine(make_engine, router).invoke(
        "lacework_edge.alerts.query_open",
        {"start_time_ms": 1700000000000, "end_time_ms": 1700000100000},
    )
    assert dict(query.calls.last.request.url.params) == {
        "start_time": "1700000000000",
        "end_time": "1700000100000",
        "status_filter": "1,2",
    }
    assert [a["status_name"] for a in result.data["alerts"]] == ["OPEN", None]
    # 9 is not in the table: kept, named null, and flagged by its alert
    assert result.data["alerts"][1]["status"] == 9
    assert result.data["alerts"][1]["unknown_codes"] == [{"field": "status", "code": 9}]
    assert "unknown_codes" not in result.data["alerts"][0]
    assert result.data["count"] == 2


@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param({}, id="no-start"),
        pytest.param({"start_time_ms": -1}, id="negative"),
        pytest.param({"start_time_ms": 1, "statuses": ["SNOOZED"]}, id="unknown-status"),
        pytest.param({"start_time_ms": 1.5}, id="float"),
    ],
)
def test_query_open_refuses_bad_windows_before_sending(
    inputs: dict[str, Any], make_engine: EngineFactory
) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=False)
    with pytest.raises(errors.InputError):
        lacework_engine(make_engine, router).invoke("lacework_edge.alerts.query_open", inputs)
    assert router.calls.call_count == 0


def test_bulk_reads_missing_update_times_and_reports_each_item(
    make_engine: EngineFactory,
) -> None:
    router = _router()
    router.get("/api/v1/alerts/a-2").mock(
        return_value=httpx.Response(200, json={**ALERT, "uuid": "a-2", "update_time": 22})
    )
    bulk = router.post("/api/v1/alerts/investigation_actions").mock(
        return_value=httpx.Response(
            200,
            json={
                "responses": [
                    {"alert_uuid": "a-1", "alert_update_time": 12},
                    {"alert_uuid": "a-2", "error": "alert a-2 was updated"},
                ]
            },
        )
    )
    result = lacework_engine(make_engine, router).invoke(
        "lacework_edge.alerts.bulk",
        {
            "items": [
                {"alert_uuid": "a-1", "kind": "ack", "alert_update_time": 11},
                {"alert_uuid": "a-2", "kind": "close", "incident_status": "BENIGN"},
            ]
        },
    )
    requests = _sent(bulk)["investigation_actions"]
    assert [(r["alert_uuid"], r["alert_update_time"]) for r in requests] == [
        ("a-1", 11),
        ("a-2", 22),
    ]
    assert requests[1]["action"]["close_with_reason"]["incident_status"] == 3
    assert result.data["failed"] == 1
    assert result.data["results"][1] == {
        "alert_uuid": "a-2",
        "ok": False,
        "message": "alert a-2 was updated",
    }


def test_bulk_items_need_what_their_kind_needs(make_engine: EngineFactory) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=False)
    with pytest.raises(errors.InputError) as caught:
        lacework_engine(make_engine, router).invoke(
            "lacework_edge.alerts.bulk", {"items": [{"alert_uuid": "a-1", "kind": "close"}]}
        )
    assert ("/items/0/incident_status", "required") in [
        (e.pointer, e.rule) for e in caught.value.errors
    ]
    assert router.calls.call_count == 0


@pytest.mark.parametrize(
    ("name", "code", "expected"),
    [
        pytest.param("lacework_edge.users.suspend", 3, "SUSPENDED", id="suspend"),
        pytest.param("lacework_edge.users.reactivate", 2, "ACTIVE", id="reactivate"),
    ],
)
def test_user_status_changes_send_the_code_and_read_back(
    name: str, code: int, expected: str, make_engine: EngineFactory
) -> None:
    router = _router()
    reads = iter([{"uuid": "u-1", "status": 2}, {"uuid": "u-1", "status": code}])
    router.get("/api/v1/users/u-1").mock(
        side_effect=lambda request: httpx.Response(200, json=next(reads))
    )
    update = router.patch("/api/v1/users/u-1").mock(return_value=httpx.Response(200, json={}))
    result = lacework_engine(make_engine, router).invoke(name, {"user_uuid": "u-1"})
    assert _sent(update) == {"account_name": "acme", "uuid": "u-1", "user": {"status": code}}
    assert result.data["status_name"] == expected
    assert result.data["previous_status_name"] == "ACTIVE"


def test_a_status_read_back_outside_the_table_is_named_null_and_flagged(
    make_engine: EngineFactory,
) -> None:
    router = _router()
    reads = iter([{"uuid": "u-1", "status": 2}, {"uuid": "u-1", "status": 7}])
    router.get("/api/v1/users/u-1").mock(
        side_effect=lambda request: httpx.Response(200, json=next(reads))
    )
    router.patch("/api/v1/users/u-1").mock(return_value=httpx.Response(200, json={}))
    result = lacework_engine(make_engine, router).invoke(
        "lacework_edge.users.suspend", {"user_uuid": "u-1"}
    )
    assert result.data["status_name"] is None and result.data["previous_status_name"] == "ACTIVE"
    assert result.data["user"]["status"] == 7
    assert result.data["user"]["unknown_codes"] == [{"field": "status", "code": 7}]


def test_update_profile_sends_only_the_profile_fields(make_engine: EngineFactory) -> None:
    router = _router()
    update = router.patch("/api/v1/users/u-1").mock(
        return_value=httpx.Response(200, json={"uuid": "u-1", "display_name": "Jane Doe"})
    )
    result = lacework_engine(make_engine, router).invoke(
        "lacework_edge.users.update_profile",
        {"uuid": "u-1", "user": {"display_name": "Jane Doe", "location": "Lyon"}},
    )
    assert _sent(update) == {
        "account_name": "acme",
        "uuid": "u-1",
        "user": {"display_name": "Jane Doe", "location": "Lyon"},
    }
    assert result.data["display_name"] == "Jane Doe"


@pytest.mark.parametrize(
    ("user", "pointer"),
    [
        pytest.param({"status": 3}, "/user/status", id="status-suspends"),
        pytest.param({"status": "DELETED"}, "/user/status", id="status-deletes"),
        pytest.param({"display_name": "x", "role": 1}, "/user/role", id="role"),
        pytest.param({}, "/user", id="nothing-to-change"),
    ],
)
def test_update_profile_cannot_reach_status_or_role(
    user: dict[str, Any], pointer: str, make_engine: EngineFactory
) -> None:
    """The narrow write stays a write because its input cannot do what users.update can."""
    router = respx.Router(base_url=BASE, assert_all_called=False)
    with pytest.raises(errors.InputError) as caught:
        lacework_engine(make_engine, router).invoke(
            "lacework_edge.users.update_profile", {"uuid": "u-1", "user": user}
        )
    assert any(e.pointer.startswith(pointer) for e in caught.value.errors), caught.value.errors
    assert router.calls.call_count == 0


def test_workflow_run_wait_polls_until_the_run_finishes(
    make_engine: EngineFactory, sleeps: Sleeps
) -> None:
    router = _router()
    states = iter([1, 1, 2])  # PENDING, PENDING, SUCCESS
    router.get("/api/v1/workflow_runs/r-1").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"uuid": "r-1", "status": next(states), "execution_ttl_sec": 600}
        )
    )
    result = lacework_engine(make_engine, router).invoke(
        "lacework_edge.workflow_runs.wait", {"uuid": "r-1", "poll_seconds": 2}
    )
    assert result.data["finished"] and not result.data["timed_out"]
    assert result.data["status_name"] == "SUCCESS" and result.data["polls"] == 3
    assert sleeps == [2, 2]


def test_workflow_run_wait_stops_at_the_runs_execution_ttl(
    make_engine: EngineFactory, sleeps: Sleeps
) -> None:
    router = _router()
    router.get("/api/v1/workflow_runs/r-1").mock(
        side_effect=lambda request: httpx.Response(
            200, json={"uuid": "r-1", "status": 1, "execution_ttl_sec": 10}
        )
    )
    result = lacework_engine(make_engine, router).invoke(
        "lacework_edge.workflow_runs.wait", {"uuid": "r-1", "poll_seconds": 4}
    )
    assert result.data["timed_out"] and not result.data["finished"]
    assert result.data["status_name"] == "PENDING"
    assert sum(sleeps) == 10 and result.data["polls"] == 4


def test_workflow_run_wait_names_a_status_outside_the_table_null(
    make_engine: EngineFactory, sleeps: Sleeps
) -> None:
    router = _router()
    router.get("/api/v1/workflow_runs/r-1").mock(
        return_value=httpx.Response(200, json={"uuid": "r-1", "status": 9, "execution_ttl_sec": 4})
    )
    result = lacework_engine(make_engine, router).invoke(
        "lacework_edge.workflow_runs.wait", {"uuid": "r-1", "poll_seconds": 2}
    )
    assert result.data["timed_out"] and result.data["status_name"] is None
    assert result.data["run"]["unknown_codes"] == [{"field": "status", "code": 9}]
