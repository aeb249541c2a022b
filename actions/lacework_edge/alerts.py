"""Lacework Edge alert response actions, built on the generated alert operations.

Every investigation action carries the alert's `alert_update_time`: the one the caller
read, or the one read just now. The tenant refuses a stale one (409), so a change made
by someone else in between is reported as a ConflictError, never overwritten.
"""

from __future__ import annotations

import time
from typing import Any

from soarpack.lacework_edge.enums import code
from soarpack.session import Session

_ACK = "ACKNOWLEDGED"


def query_open(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    end = inputs.get("end_time_ms", int(time.time() * 1000))
    statuses = [str(code(session, "alert_status", s)) for s in inputs["statuses"]]
    found = session.call_action(
        "lacework_edge.alerts.query",
        {
            "start_time": str(inputs["start_time_ms"]),
            "end_time": str(end),
            "status_filter": ",".join(statuses),
        },
    )
    alerts = found.get("alerts") or []
    return {"alerts": alerts, "count": len(alerts)}


def ack(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _investigate(session, inputs, _status_change(session, _ACK))


def set_status(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _investigate(session, inputs, _status_change(session, inputs["status"]))


def add_note(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _investigate(session, inputs, _note(session, inputs))


def close(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _investigate(session, inputs, _close(session, inputs))


def run_workflow(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _investigate(session, inputs, _workflow(session, inputs))


def bulk(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    builders = {
        "ack": lambda item: _status_change(session, _ACK),
        "set_status": lambda item: _status_change(session, item["status"]),
        "add_note": lambda item: _note(session, item),
        "close": lambda item: _close(session, item),
        "run_workflow": lambda item: _workflow(session, item),
    }
    requests = []
    for item in inputs["items"]:
        request = {
            "alert_uuid": item["alert_uuid"],
            "alert_update_time": _update_time(session, item),
            "action": builders[item["kind"]](item),
        }
        if inputs.get("actor_uuid"):
            request["actor_uuid"] = inputs["actor_uuid"]
        requests.append(request)
    answer = session.call_action(
        "lacework_edge.alerts.investigate_many", {"investigation_actions": requests}
    )
    responses = answer.get("responses") or []
    results = []
    for index, request in enumerate(requests):
        reply = responses[index] if index < len(responses) else {}
        message = reply.get("error") or reply.get("message")
        result: dict[str, Any] = {"alert_uuid": request["alert_uuid"], "ok": not message}
        if isinstance(reply.get("alert_update_time"), int):
            result["alert_update_time"] = reply["alert_update_time"]
        if message:
            result["message"] = str(message)
        elif index >= len(responses):
            result.update(ok=False, message="the tenant returned no outcome for this item")
        results.append(result)
    failed = sum(1 for r in results if not r["ok"])
    return {"results": results, "count": len(results), "failed": failed}


# -- the pieces ---------------------------------------------------------------------


def _investigate(
    session: Session, inputs: dict[str, Any], action: dict[str, Any]
) -> dict[str, Any]:
    alert_uuid = inputs["alert_uuid"]
    update_time = _update_time(session, inputs)
    body: dict[str, Any] = {
        "uuid": alert_uuid,
        "alert_uuid": alert_uuid,
        "alert_update_time": update_time,
        "action": action,
    }
    if inputs.get("actor_uuid"):
        body["actor_uuid"] = inputs["actor_uuid"]
    answer = session.call_action("lacework_edge.alerts.investigate", body)
    return {
        "alert_uuid": alert_uuid,
        "alert_update_time": int(answer.get("alert_update_time") or update_time),
        "previous_update_time": update_time,
        "history_item": answer.get("history_item") or {},
    }


def _update_time(session: Session, inputs: dict[str, Any]) -> int:
    given = inputs.get("alert_update_time")
    if given is not None:
        return int(given)
    alert = session.call_action("lacework_edge.alerts.get", {"uuid": inputs["alert_uuid"]})
    return int(alert.get("update_time") or 0)


def _status_change(session: Session, status: int | str) -> dict[str, Any]:
    return {
        "action_type": code(session, "investigation_action_type", "ALERT_STATUS_CHANGE"),
        "alert_status_change": {"new_status": code(session, "alert_status", status)},
    }


def _note(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    note: dict[str, Any] = {"note_text": inputs["note"]}
    if inputs.get("card_id"):
        note["card_id"] = inputs["card_id"]
    return {"action_type": code(session, "investigation_action_type", "NOTE"), "note": note}


def _close(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    reason = {
        "incident_status": code(session, "incident_status", inputs["incident_status"]),
        "note_text": inputs.get("note", ""),
    }
    return {
        "action_type": code(session, "investigation_action_type", "CLOSE_WITH_REASON"),
        "close_with_reason": reason,
    }


def _workflow(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "action_type": code(session, "investigation_action_type", "RUN_WORKFLOW"),
        "run_workflow": {"workflow_uuid": inputs["workflow_uuid"]},
    }
