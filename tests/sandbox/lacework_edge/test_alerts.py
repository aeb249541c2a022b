"""Lacework Edge simulator: alert queries, investigation actions, optimistic locking, history."""

from __future__ import annotations

from typing import Any

from soarpack.sandbox.lacework_edge.spec import enum_codes
from tests.sandbox.lacework_edge.helpers import Edge, edge, message, ok

__all__ = ["edge"]

STATUS = enum_codes("alert_status")
ACTION = enum_codes("investigation_action_type")
INCIDENT = enum_codes("incident_status")
ALERT = "/api/v1/alerts/ex-alerts-1"


def _alert(edge: Edge, uuid: str = "ex-alerts-1") -> dict[str, Any]:
    body: dict[str, Any] = ok(edge.http.get(f"/api/v1/alerts/{uuid}"), "alerts.get")
    return body


def _act(edge: Edge, action: dict[str, Any], update_time: int | None = None) -> Any:
    body: dict[str, Any] = {"action": action, "alert_uuid": "ex-alerts-1"}
    if update_time is not None:
        body["alert_update_time"] = update_time
    return edge.http.post(f"{ALERT}/investigation_actions", json=body)


def _status_change(status: str) -> dict[str, Any]:
    return {
        "action_type": ACTION["ALERT_STATUS_CHANGE"],
        "alert_status_change": {"new_status": STATUS[status]},
    }


def _window(edge: Edge, **params: str) -> list[dict[str, Any]]:
    query = {"start_time": "", "end_time": "", "status_filter": "", **params}
    alerts: list[dict[str, Any]] = ok(
        edge.http.get("/api/v1/alerts", params=query), "alerts.query"
    )["alerts"]
    return alerts


def test_query_filters_by_time_window_and_status(edge: Edge) -> None:
    every = _window(edge)
    assert len(every) == 3 * edge.tenant.records_per_area
    times = sorted(a["create_time"] for a in every)
    middle = times[len(times) // 2]
    later = _window(edge, start_time=str(middle))
    assert later and all(a["create_time"] >= middle for a in later)
    earlier = _window(edge, end_time=str(middle - 1))
    assert len(later) + len(earlier) == len(every)
    both = _window(edge, start_time=str(times[0]), end_time=str(times[0]))
    assert [a["create_time"] for a in both] == [times[0]]
    open_ = _window(edge, status_filter="OPEN")
    assert open_ and all(a["status"] == STATUS["OPEN"] for a in open_)
    mixed = _window(edge, status_filter=f"OPEN,{STATUS['CLOSED']}")
    assert {a["status"] for a in mixed} == {STATUS["OPEN"], STATUS["CLOSED"]}
    assert _window(edge, status_filter="NOT_A_STATUS") == []
    message(
        edge.http.get(
            "/api/v1/alerts", params={"start_time": "x", "end_time": "", "status_filter": ""}
        ),
        400,
    )
    message(
        edge.http.get(
            "/api/v1/alerts", params={"start_time": "5", "end_time": "4", "status_filter": ""}
        ),
        400,
    )
    # "²".isdigit() is true, yet it is no number: a 400, not a crash (found by the
    # property suite).
    for odd in ("²", "-²", "١٢"):
        message(
            edge.http.get(
                "/api/v1/alerts", params={"start_time": "", "end_time": odd, "status_filter": ""}
            ),
            400,
        )


def test_status_change_moves_update_time_and_records_history(edge: Edge) -> None:
    before = _alert(edge)
    answer = ok(
        _act(edge, _status_change("ACKNOWLEDGED"), before["update_time"]), "alerts.investigate"
    )
    after = _alert(edge)
    assert after["status"] == STATUS["ACKNOWLEDGED"]
    assert answer["alert_update_time"] == after["update_time"] > before["update_time"]
    assert answer["alert_uuid"] == "ex-alerts-1"
    item = answer["history_item"]
    assert item["action"]["action_type"] == ACTION["ALERT_STATUS_CHANGE"]
    assert item["actor_uuid"] == edge.tenant.api_user_uuid
    history = ok(edge.http.get(f"{ALERT}/investigation_actions"), "alerts.history")
    assert history["investigation_actions"] == [item]


def test_stale_alert_update_time_is_409_and_changes_nothing(edge: Edge) -> None:
    start = _alert(edge)["update_time"]
    first = _act(edge, _status_change("ACKNOWLEDGED"), start)
    assert first.status_code == 200
    snapshot = _alert(edge)
    stale = _act(edge, _status_change("CLOSED"), start)
    assert (
        message(stale, 409)
        == f"alert ex-alerts-1 was updated at {snapshot['update_time']}; refresh and retry"
    )
    assert _alert(edge) == snapshot
    assert len(edge.http.get(f"{ALERT}/investigation_actions").json()["investigation_actions"]) == 1
    retried = _act(edge, _status_change("CLOSED"), snapshot["update_time"])
    assert retried.status_code == 200
    assert _alert(edge)["status"] == STATUS["CLOSED"]


def test_without_alert_update_time_there_is_no_check(edge: Edge) -> None:
    assert (
        _act(edge, {"action_type": ACTION["NOTE"], "note": {"note_text": "one"}}).status_code == 200
    )
    assert (
        _act(edge, {"action_type": ACTION["NOTE"], "note": {"note_text": "two"}}, 0).status_code
        == 200
    )
    notes = edge.http.get(f"{ALERT}/investigation_actions").json()["investigation_actions"]
    assert [n["action"]["note"]["note_text"] for n in notes] == ["one", "two"]


def test_close_with_reason(edge: Edge) -> None:
    edge.clock.advance(10)
    action = {
        "action_type": ACTION["CLOSE_WITH_REASON"],
        "close_with_reason": {
            "incident_status": INCIDENT["TRUE_POSITIVE"],
            "note_text": "confirmed",
        },
    }
    ok(_act(edge, action), "alerts.investigate")
    alert = _alert(edge)
    assert alert["status"] == STATUS["CLOSED"]
    assert alert["incident_status"] == INCIDENT["TRUE_POSITIVE"]
    assert alert["closed_time"] == edge.tenant.now_ms()


def test_update_owner(edge: Edge) -> None:
    action = {"action_type": ACTION["UPDATE_OWNER"], "update_owner": {"owner_uuid": "ex-users-1"}}
    ok(_act(edge, action), "alerts.investigate")
    alert = _alert(edge)
    assert (alert["owner_uuid"], alert["owner_display_name"]) == ("ex-users-1", "Alice Example")


def test_run_workflow_creates_a_pending_run(edge: Edge) -> None:
    action = {
        "action_type": ACTION["RUN_WORKFLOW"],
        "run_workflow": {"workflow_uuid": "ex-workflows-1"},
    }
    answer = ok(_act(edge, action), "alerts.investigate")
    run_uuid = answer["history_item"]["action"]["run_workflow"]["workflow_run_uuid"]
    run = ok(edge.http.get(f"/api/v1/workflow_runs/{run_uuid}"), "workflow_runs.get")
    assert run["status"] == 1  # PENDING
    assert run["details"]["alert_uuid"] == "ex-alerts-1"
    unknown = {"action_type": ACTION["RUN_WORKFLOW"], "run_workflow": {"workflow_uuid": "nope"}}
    message(_act(edge, unknown), 404)


def test_action_type_must_match_the_member(edge: Edge) -> None:
    before = _alert(edge)
    wrong = {"action_type": ACTION["NOTE"], "alert_status_change": {"new_status": STATUS["CLOSED"]}}
    assert message(_act(edge, wrong), 400).startswith("action.action_type:")
    two = {**_status_change("CLOSED"), "note": {"note_text": "x"}}
    message(_act(edge, two), 400)
    bad_status = {
        "action_type": ACTION["ALERT_STATUS_CHANGE"],
        "alert_status_change": {"new_status": 42},
    }
    message(_act(edge, bad_status), 400)
    assert _alert(edge) == before


def test_alert_uuid_in_the_body_must_match_the_path(edge: Edge) -> None:
    body = {"action": _status_change("CLOSED"), "alert_uuid": "another"}
    message(edge.http.post(f"{ALERT}/investigation_actions", json=body), 400)
    message(edge.http.post("/api/v1/alerts/nope/investigation_actions", json={}), 404)


def test_bulk_actions_answer_per_item(edge: Edge) -> None:
    alerts = _window(edge, status_filter="OPEN")[:2]
    first, second = alerts
    requests = [
        {
            "alert_uuid": first["uuid"],
            "action": _status_change("ACKNOWLEDGED"),
            "alert_update_time": first["update_time"],
        },
        {
            "alert_uuid": second["uuid"],
            "action": _status_change("CLOSED"),
            "alert_update_time": second["update_time"] - 1,
        },
        {"alert_uuid": "nope", "action": _status_change("CLOSED")},
        {
            "alert_uuid": first["uuid"],
            "action": _status_change("CLOSED"),
            "alert_update_time": first["update_time"],
        },
    ]
    answer = ok(
        edge.http.post(
            "/api/v1/alerts/investigation_actions", json={"investigation_actions": requests}
        ),
        "alerts.investigate_many",
    )
    done, stale, missing, stale_again = answer["responses"]
    assert done["history_item"]["action"]["action_type"] == ACTION["ALERT_STATUS_CHANGE"]
    assert (stale["code"], stale["alert_update_time"]) == (409, second["update_time"])
    assert "refresh and retry" in stale["message"]
    assert (missing["code"], missing["alert_uuid"]) == (404, "nope")
    assert stale_again["code"] == 409  # the first item moved that alert on
    assert _alert(edge, first["uuid"])["status"] == STATUS["ACKNOWLEDGED"]
    assert _alert(edge, second["uuid"]) == second


def test_promote_an_event_to_an_alert(edge: Edge) -> None:
    alert = ok(edge.http.post("/api/v1/alerts", json={"event_id": "evt-42"}), "alerts.promote")
    assert (alert["uuid"], alert["status"]) == ("evt-42", STATUS["OPEN"])
    assert _alert(edge, "evt-42") == alert
    again = ok(edge.http.post("/api/v1/alerts", json={"event_id": "evt-42"}), "alerts.promote")
    assert again == alert
    assert ok(edge.http.get("/api/v1/alerts/evt-42/investigation_actions"), "alerts.history") == {
        "investigation_actions": []
    }
