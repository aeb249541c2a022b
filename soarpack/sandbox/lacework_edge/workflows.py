"""Workflows and their runs: an approval a user must get before access is granted.

A workflow lists `answers` ([{"answer": text, "actions": [...]}]; by default Approve,
Deny and Unsure) and `execution_ttl_sec` (0: the default 600 s; -1: no limit). A run
(workflow_run_status codes of assumed_enums.json):

    CREATED  on POST /api/v1/workflow_runs; it becomes PENDING when executed: at once
             with "execute_now": true, else `tenant.workflow_run_start_delay` seconds
             later on the tenant's clock (None: only when answered)
    PENDING  waiting for an answer; `expire_time_sec` = start + execution ttl
    SUCCESS / FAILURE / UNSURE
             what the chosen answer maps to: Approve SUCCESS, Deny FAILURE, Unsure UNSURE
             (also approve(d)/allow/yes, deny/denied/reject/no, and the status names
             themselves, case-insensitively; any other text is UNSURE)

A PENDING run whose execution ttl has passed is reported FAILURE (expire_time_sec kept)
the next time it is read. Answering a finished run is a 409; an answer_index out of
range a 400. A run's state is brought up to date whenever it is read.
"""

from __future__ import annotations

from typing import Any

from soarpack.sandbox.lacework_edge.records import generic_create, new_record, update_record
from soarpack.sandbox.lacework_edge.spec import enum_codes
from soarpack.sandbox.lacework_edge.store import Call, EdgeError, LaceworkEdgeTenant, Record

__all__ = [
    "DEFAULT_ANSWERS",
    "DEFAULT_EXECUTION_TTL",
    "WORKFLOW_HANDLERS",
    "create_run",
    "execute_run",
    "refresh_run",
    "run_status",
    "workflow_defaults",
]

DEFAULT_ANSWERS = ("Approve", "Deny", "Unsure")
DEFAULT_EXECUTION_TTL = 600
_OUTCOMES = {
    "approve": "SUCCESS",
    "approved": "SUCCESS",
    "allow": "SUCCESS",
    "yes": "SUCCESS",
    "success": "SUCCESS",
    "deny": "FAILURE",
    "denied": "FAILURE",
    "reject": "FAILURE",
    "no": "FAILURE",
    "failure": "FAILURE",
    "unsure": "UNSURE",
}
_GENERATED = ("uuid", "status", "create_time", "update_time", "expire_time_sec", "answer_index")
_FROM_WORKFLOW = (
    "answers",
    "actions",
    "approval_ttl_sec",
    "recipients",
    "justification_required",
    "requestor_justification_required",
    "token_required",
)


def run_status(name: str) -> int:
    """A workflow_run_status code by name (CREATED, PENDING, SUCCESS, FAILURE, UNSURE)."""
    return enum_codes("workflow_run_status")[name]


def _finished(run: Record) -> str | None:
    """The name of the run's final status, or None while it is still open."""
    for name in ("SUCCESS", "FAILURE", "UNSURE"):
        if run.get("status") == run_status(name):
            return name
    return None


def outcome(answer_text: str) -> int:
    """The run status an answer's text maps to."""
    return run_status(_OUTCOMES.get(answer_text.strip().lower(), "UNSURE"))


def _check_ttl(body: dict[str, Any]) -> None:
    for key in ("execution_ttl_sec", "approval_ttl_sec"):
        value = body.get(key)
        if isinstance(value, int) and value < -1:
            raise EdgeError(400, f"{key}: must be -1 (no limit), 0 (the default) or positive")


def workflow_defaults(fields: Record) -> Record:
    """`fields` with the documented defaults: the three answers, answer 0 by default."""
    if not fields.get("answers"):
        fields["answers"] = [{"answer": text, "actions": []} for text in DEFAULT_ANSWERS]
    fields.setdefault("default_answer_index", "0")
    fields.setdefault("execution_ttl_sec", 0)
    return fields


def _create_workflow(call: Call) -> Record:
    _check_ttl(call.body)
    workflow_defaults(call.body)
    return generic_create(call)


def _update_workflow(call: Call) -> Record:
    _check_ttl(call.body)
    record = call.tenant.store("workflows").require(call.param())
    update_record(call.tenant, "workflows", record, call)
    workflow_defaults(record)
    return record


def execute_run(tenant: LaceworkEdgeTenant, run: Record, at: float) -> None:
    """Start `run` at `at` (epoch seconds): PENDING, with its expiry set."""
    ttl = run.get("execution_ttl_sec") or DEFAULT_EXECUTION_TTL
    run["status"] = run_status("PENDING")
    run["expire_time_sec"] = 0 if ttl == -1 else int(at + ttl)
    run["update_time"] = tenant.tick()
    tenant.run_meta.setdefault(run["uuid"], {})["execute_at"] = None


def refresh_run(tenant: LaceworkEdgeTenant, run: Record) -> Record:
    """Bring `run` up to the tenant's clock: start it if due, fail it if expired."""
    now = tenant.now()
    meta = tenant.run_meta.setdefault(run["uuid"], {})
    execute_at = meta.get("execute_at")
    if run.get("status") == run_status("CREATED") and execute_at is not None and now >= execute_at:
        execute_run(tenant, run, execute_at)
    expires = run.get("expire_time_sec") or 0
    if run.get("status") == run_status("PENDING") and expires and now >= expires:
        run["status"] = run_status("FAILURE")
        run["update_time"] = tenant.tick()
        meta["expired"] = True
    return run


def create_run(
    call: Call, run_fields: Record, *, execute_now: bool, parent_uuid: str = ""
) -> Record:
    """A new run of `run_fields["workflow_uuid"]` (if any) for the given or calling user."""
    tenant = call.tenant
    fields = {k: v for k, v in run_fields.items() if k not in _GENERATED}
    default_index = "0"
    workflow_uuid = str(fields.get("workflow_uuid") or "")
    ttl = fields.get("execution_ttl_sec") or 0
    if workflow_uuid:
        workflow = tenant.store("workflows").require(workflow_uuid)
        for key in _FROM_WORKFLOW:
            if not fields.get(key) and key in workflow:
                fields[key] = workflow[key]
        fields["workflow_name"] = workflow.get("name", "")
        ttl = workflow.get("execution_ttl_sec") or 0
        default_index = str(workflow.get("default_answer_index") or "0")
    fields["execution_ttl_sec"] = DEFAULT_EXECUTION_TTL if ttl == 0 else ttl
    workflow_defaults(fields)
    fields.setdefault("user_uuid", call.user_uuid)
    fields["user_display_name"] = tenant.user_name(str(fields["user_uuid"]))
    if parent_uuid:
        tenant.store("workflow_runs").require(parent_uuid)
        fields["parent_uuid"] = parent_uuid
    run = new_record(call, "workflow_runs", fields)
    run["status"] = run_status("CREATED")
    tenant.store("workflow_runs").put(run)
    delay = tenant.workflow_run_start_delay
    execute_at = None if execute_now or delay is None else tenant.now() + delay
    tenant.run_meta[run["uuid"]] = {"default_answer_index": default_index, "execute_at": execute_at}
    if execute_now:
        execute_run(tenant, run, tenant.now())
    return run


def _create(call: Call) -> Record:
    inner = call.body.get("workflow_run") or {}
    _check_ttl(inner)
    return create_run(
        call,
        inner,
        execute_now=bool(call.body.get("execute_now")),
        parent_uuid=str(call.body.get("parent_workflow_run_uuid") or ""),
    )


def _get(call: Call) -> Record:
    return refresh_run(call.tenant, call.tenant.store("workflow_runs").require(call.param()))


_RUN_FILTERS = ("workflow_uuid", "user_uuid", "app_protocol", "app_host", "app_port", "app_uuid")


def _query(call: Call) -> Record:
    wanted_status = call.query.get("status")
    runs = []
    for run in call.tenant.store("workflow_runs"):
        refresh_run(call.tenant, run)
        if wanted_status and run.get("status") != run_status(str(wanted_status)):
            continue
        if any(
            call.query.get(key) and str(run.get(key, "")) != str(call.query[key])
            for key in _RUN_FILTERS
        ):
            continue
        runs.append(run)
    return {"workflow_runs": runs}


def _answer(call: Call) -> Record:
    tenant = call.tenant
    run_uuid = call.param()
    if call.body.get("uuid") and call.body["uuid"] != run_uuid:
        raise EdgeError(400, f"uuid: {call.body['uuid']!r} does not match the path ({run_uuid})")
    run = refresh_run(tenant, tenant.store("workflow_runs").require(run_uuid))
    name = _finished(run)
    if name is not None:
        raise EdgeError(409, f"workflow run {run_uuid} already finished: {name}")
    meta = tenant.run_meta.setdefault(run_uuid, {})
    raw = call.body.get("answer_index") or meta.get("default_answer_index") or "0"
    try:
        index = int(str(raw))
    except ValueError:
        raise EdgeError(400, f"answer_index: must be a whole number, got {raw!r}") from None
    answers = run.get("answers") or []
    if not 0 <= index < len(answers):
        raise EdgeError(
            400, f"answer_index: {index} is out of range; the run has {len(answers)} answers"
        )
    if run.get("status") == run_status("CREATED"):
        execute_run(tenant, run, tenant.now())
    justification = str(call.body.get("justification") or "")
    run.update(
        status=outcome(str(answers[index].get("answer", ""))),
        answer_index=str(index),
        approver_uuid=call.user_uuid,
        approver_display_name=tenant.user_name(call.user_uuid),
        approver_justification=justification,
        update_time=tenant.tick(),
    )
    return run


WORKFLOW_HANDLERS = {
    "workflows.create": _create_workflow,
    "workflows.update": _update_workflow,
    "workflow_runs.create": _create,
    "workflow_runs.get": _get,
    "workflow_runs.query": _query,
    "workflow_runs.answer": _answer,
}
