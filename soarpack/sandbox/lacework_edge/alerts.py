"""Alerts and their investigation: the state the pack's response actions change.

    GET  /api/v1/alerts?start_time&end_time&status_filter
         alerts created in [start_time, end_time] (ms; empty: unbounded) whose status is
         in status_filter (comma separated AlertStatus names or numbers; empty: all; a
         name that is no AlertStatus matches nothing)
    POST /api/v1/alerts                                  promote event_id to an alert
    GET  /api/v1/alerts/{uuid}/investigation_actions     the history, oldest first
    POST /api/v1/alerts/{uuid}/investigation_actions     one action
    POST /api/v1/alerts/investigation_actions            several, answered per item

An action carries `action_type` (investigation_action_type) and the one member it
names: alert_status_change, note, close_with_reason, run_workflow or update_owner. A
mismatch is a 400; action_type 0 with no member does nothing and records nothing.
`alert_update_time`, when given and not 0, must equal the alert's update_time, else the
answer is 409 and nothing changes (optimistic locking). Every applied action moves
update_time on (strictly) and appends a history item.

The bulk form answers 200 with one entry per request, in order. An item that fails
carries `alert_uuid`, the alert's current `alert_update_time` (0 if unknown), `code`
(400, 404 or 409) and `message`, and changes nothing; the others are applied.
"""

from __future__ import annotations

import copy
from typing import Any

from soarpack.sandbox.lacework_edge.records import answer_record, new_record
from soarpack.sandbox.lacework_edge.spec import enum_codes
from soarpack.sandbox.lacework_edge.store import Call, EdgeError, Record
from soarpack.sandbox.lacework_edge.workflows import create_run

__all__ = ["ALERT_HANDLERS", "alert_status"]

_MEMBERS = {
    "ALERT_STATUS_CHANGE": "alert_status_change",
    "NOTE": "note",
    "CLOSE_WITH_REASON": "close_with_reason",
    "RUN_WORKFLOW": "run_workflow",
    "UPDATE_OWNER": "update_owner",
}


def alert_status(name: str) -> int:
    """An AlertStatus code by name (OPEN, ACKNOWLEDGED, CLOSED)."""
    return enum_codes("alert_status")[name]


def _millis(call: Call, field: str) -> int | None:
    raw = str(call.query.get(field) or "").strip()
    if not raw:
        return None
    # ASCII only: "²".isdigit() is true, yet int() refuses it.
    if not (raw.isascii() and raw.lstrip("-").isdigit()):
        raise EdgeError(400, f"{field}: must be epoch milliseconds, got {raw!r}")
    return int(raw)


def _status_filter(raw: Any) -> set[int] | None:
    names = enum_codes("alert_status")
    parts = [part.strip() for part in str(raw or "").split(",") if part.strip()]
    if not parts:
        return None
    wanted: set[int] = set()
    for part in parts:
        if part.isascii() and part.isdigit():
            wanted.add(int(part))
        elif part.upper() in names:
            wanted.add(names[part.upper()])
    return wanted


def _query(call: Call) -> Record:
    start, end = _millis(call, "start_time"), _millis(call, "end_time")
    if start is not None and end is not None and start > end:
        raise EdgeError(400, "start_time: must not be after end_time")
    statuses = _status_filter(call.query.get("status_filter"))
    found = []
    for alert in call.tenant.store("alerts"):
        created = alert.get("create_time", 0)
        if (start is not None and created < start) or (end is not None and created > end):
            continue
        if statuses is not None and alert.get("status") not in statuses:
            continue
        found.append(alert)
    found.sort(key=lambda alert: (-alert.get("create_time", 0), alert["uuid"]))
    return {"alerts": found}


def _promote(call: Call) -> Record:
    tenant = call.tenant
    store = tenant.store("alerts")
    event_id = str(call.body.get("event_id") or "") or tenant.new_uuid()
    existing = store.get(event_id)
    if existing is not None:
        return existing  # promoting again keeps the investigation state
    alert = new_record(
        call,
        "alerts",
        {
            "uuid": event_id,
            "status": alert_status("OPEN"),
            "severity": 3,
            "event_type": "PROMOTED_EVENT",
            "description": f"Promoted from event {event_id}",
        },
    )
    store.put(alert)
    tenant.history[event_id] = []
    return alert


def _history(call: Call) -> Record:
    call.tenant.store("alerts").require(call.param())
    return {"investigation_actions": list(call.tenant.history.get(call.param(), []))}


def _member(action: Record) -> tuple[int, str | None]:
    """The action's type code and the member it carries; 400 when they disagree."""
    codes = enum_codes("investigation_action_type")
    present = [name for name, member in _MEMBERS.items() if action.get(member)]
    action_type = action.get("action_type") or 0
    if len(present) > 1:
        raise EdgeError(400, f"action: carries {', '.join(_MEMBERS[p] for p in present)}; one only")
    if not present:
        if action_type:
            raise EdgeError(400, f"action.action_type: {action_type} but the action has no member")
        return 0, None
    name = present[0]
    if action_type != codes[name]:
        raise EdgeError(
            400,
            f"action.action_type: {action_type} does not match {_MEMBERS[name]} "
            f"(action_type {codes[name]})",
        )
    return action_type, _MEMBERS[name]


def _apply(call: Call, alert: Record, action: Record, member: str) -> Record:
    """Change `alert` as `action` says; returns the action as the history records it."""
    tenant = call.tenant
    recorded = copy.deepcopy(action)
    detail = action[member]
    if member == "alert_status_change":
        new_status = detail.get("new_status")
        if new_status not in enum_codes("alert_status").values():
            raise EdgeError(
                400, f"action.alert_status_change.new_status: {new_status!r} is no AlertStatus"
            )
        alert["status"] = new_status
        closed = new_status == alert_status("CLOSED")
        alert["closed_time"] = tenant.now_ms() if closed else 0
    elif member == "close_with_reason":
        incident = detail.get("incident_status")
        if incident not in enum_codes("incident_status").values():
            raise EdgeError(
                400, f"action.close_with_reason.incident_status: {incident!r} is no incident status"
            )
        alert.update(
            status=alert_status("CLOSED"), incident_status=incident, closed_time=tenant.now_ms()
        )
    elif member == "update_owner":
        owner = str(detail.get("owner_uuid") or "")
        alert["owner_uuid"] = owner
        alert["owner_display_name"] = detail.get("owner_display_name") or tenant.user_name(owner)
        alert["assignment_time"] = tenant.now_ms() if owner else 0
    elif member == "run_workflow":
        given = detail.get("workflow_run") or {}
        workflow_uuid = detail.get("workflow_uuid") or given.get("workflow_uuid") or ""
        if not workflow_uuid and not given:
            raise EdgeError(400, "action.run_workflow: needs workflow_uuid or workflow_run")
        fields = {**given, "workflow_uuid": workflow_uuid}
        fields.setdefault("details", {})
        fields["details"] = {**fields["details"], "alert_uuid": alert["uuid"]}
        run = create_run(call, fields, execute_now=True)
        recorded["run_workflow"] = {
            "workflow_uuid": run.get("workflow_uuid", ""),
            "workflow_run_uuid": run["uuid"],
            "workflow_run": run,
        }
    return recorded


def _investigate_one(call: Call, request: Record, alert_uuid: str) -> Record:
    tenant = call.tenant
    alert = tenant.store("alerts").require(alert_uuid)
    given = request.get("alert_uuid")
    if given and given != alert_uuid:
        raise EdgeError(400, f"alert_uuid: {given!r} does not match the path ({alert_uuid})")
    expected = request.get("alert_update_time") or 0
    if expected and expected != alert.get("update_time"):
        raise EdgeError(
            409, f"alert {alert_uuid} was updated at {alert.get('update_time')}; refresh and retry"
        )
    action = request.get("action") or {}
    _, member = _member(action)
    if member is None:
        return {
            "alert_update_time": alert.get("update_time", 0),
            "alert_uuid": alert_uuid,
            "history_item": {},
        }
    before = copy.deepcopy(alert)
    try:
        recorded = _apply(call, alert, action, member)
    except EdgeError:
        alert.clear()
        alert.update(before)
        raise
    alert["update_time"] = tenant.tick()
    actor = str(request.get("actor_uuid") or call.user_uuid)
    item = {
        "uuid": tenant.new_uuid(),
        "account_and_alert_uuid": f"{call.account}/{alert_uuid}",
        "action": recorded,
        "actor_uuid": actor,
        "actor_display_name": tenant.user_name(actor),
        "timestamp": alert["update_time"],
    }
    tenant.history.setdefault(alert_uuid, []).append(item)
    return {
        "alert_update_time": alert["update_time"],
        "alert_uuid": alert_uuid,
        "history_item": item,
    }


def _investigate(call: Call) -> Record:
    return _investigate_one(call, call.body, call.param())


def _investigate_many(call: Call) -> Record:
    responses = []
    for request in call.body.get("investigation_actions") or []:
        alert_uuid = str(request.get("alert_uuid") or "")
        try:
            if not alert_uuid:
                raise EdgeError(400, "alert_uuid: is required in each investigation action")
            responses.append(_investigate_one(call, request, alert_uuid))
        except EdgeError as exc:
            alert = call.tenant.store("alerts").get(alert_uuid)
            responses.append(
                {
                    "alert_uuid": alert_uuid,
                    "alert_update_time": alert.get("update_time", 0) if alert else 0,
                    "code": exc.status,
                    "message": exc.message,
                }
            )
    return {"responses": responses}


def _get(call: Call) -> Record:
    return answer_record(call.op, call.tenant.store("alerts").require(call.param()))


ALERT_HANDLERS = {
    "alerts.query": _query,
    "alerts.get": _get,
    "alerts.promote": _promote,
    "alerts.history": _history,
    "alerts.investigate": _investigate,
    "alerts.investigate_many": _investigate_many,
}
