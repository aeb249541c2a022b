"""Lacework Edge simulator: workflows, run lifecycle, answers and expiry on a fake clock."""

from __future__ import annotations

from typing import Any

from soarpack.sandbox.lacework_edge.spec import enum_codes
from tests.sandbox.lacework_edge.helpers import START, Edge, edge, message, ok

__all__ = ["edge"]

RUN = enum_codes("workflow_run_status")


def _workflow(edge: Edge, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        edge.http.post("/api/v1/workflows", json={"name": "approve", **fields}), "workflows.create"
    )
    return body


def _run(edge: Edge, workflow_uuid: str, execute_now: bool = True, **fields: Any) -> dict[str, Any]:
    body = {
        "workflow_run": {"workflow_uuid": workflow_uuid, "user_uuid": "ex-users-1", **fields},
        "execute_now": execute_now,
    }
    run: dict[str, Any] = ok(
        edge.http.post("/api/v1/workflow_runs", json=body), "workflow_runs.create"
    )
    return run


def _get(edge: Edge, run_uuid: str) -> dict[str, Any]:
    run: dict[str, Any] = ok(
        edge.http.get(f"/api/v1/workflow_runs/{run_uuid}"), "workflow_runs.get"
    )
    return run


def _answer(edge: Edge, run_uuid: str, **body: Any) -> Any:
    return edge.http.post(f"/api/v1/workflow_runs/{run_uuid}/answer", json=body)


def test_workflow_defaults(edge: Edge) -> None:
    workflow = _workflow(edge)
    assert [a["answer"] for a in workflow["answers"]] == ["Approve", "Deny", "Unsure"]
    assert workflow["default_answer_index"] == "0"
    assert workflow["execution_ttl_sec"] == 0
    assert workflow["status"] == 2
    assert ok(edge.http.get(f"/api/v1/workflows/{workflow['uuid']}"), "workflows.get") == workflow
    message(edge.http.post("/api/v1/workflows", json={"execution_ttl_sec": -2}), 400)


def test_run_created_then_executed_now_is_pending(edge: Edge) -> None:
    workflow = _workflow(edge)
    run = _run(edge, workflow["uuid"])
    assert run["status"] == RUN["PENDING"]
    assert run["execution_ttl_sec"] == 600  # 0 on the workflow: the default
    assert run["expire_time_sec"] == int(START) + 600
    assert (run["workflow_name"], run["user_uuid"]) == ("approve", "ex-users-1")
    assert [a["answer"] for a in run["answers"]] == ["Approve", "Deny", "Unsure"]


def test_run_starts_after_the_configured_delay(edge: Edge) -> None:
    edge.tenant.workflow_run_start_delay = 30
    run = _run(edge, "ex-workflows-1", execute_now=False)
    assert run["status"] == RUN["CREATED"] and run["expire_time_sec"] == 0
    edge.clock.advance(29)
    assert _get(edge, run["uuid"])["status"] == RUN["CREATED"]
    edge.clock.advance(1)
    started = _get(edge, run["uuid"])
    assert started["status"] == RUN["PENDING"]
    assert started["expire_time_sec"] == int(START) + 30 + 600


def test_answers_map_to_statuses(edge: Edge) -> None:
    for index, status in ((0, "SUCCESS"), (1, "FAILURE"), (2, "UNSURE")):
        run = _run(edge, "ex-workflows-1")
        answered = ok(
            _answer(edge, run["uuid"], answer_index=str(index), justification="ok"),
            "workflow_runs.answer",
        )
        assert answered["status"] == RUN[status]
        assert answered["answer_index"] == str(index)
        assert answered["approver_justification"] == "ok"
        assert _get(edge, run["uuid"])["status"] == RUN[status]


def test_answer_refusals(edge: Edge) -> None:
    run = _run(edge, "ex-workflows-1")
    assert message(_answer(edge, run["uuid"], answer_index="3"), 400).startswith("answer_index:")
    message(_answer(edge, run["uuid"], answer_index="yes"), 400)
    message(_answer(edge, "nope", answer_index="0"), 404)
    assert (
        ok(_answer(edge, run["uuid"]), "workflow_runs.answer")["status"] == RUN["SUCCESS"]
    )  # default 0
    assert "already finished: SUCCESS" in message(_answer(edge, run["uuid"], answer_index="1"), 409)


def test_custom_answers_and_no_time_limit(edge: Edge) -> None:
    answers = [{"answer": "Deny", "actions": []}, {"answer": "Approve", "actions": []}]
    workflow = _workflow(edge, answers=answers, execution_ttl_sec=-1, default_answer_index="1")
    run = _run(edge, workflow["uuid"])
    assert run["expire_time_sec"] == 0
    edge.clock.advance(10 * 86400)
    edge.http.headers.update(edge.jwt_headers())  # the fixture's JWT has expired meanwhile
    assert _get(edge, run["uuid"])["status"] == RUN["PENDING"]
    assert _answer(edge, run["uuid"]).json()["status"] == RUN["SUCCESS"]  # default index 1


def test_pending_run_expires_to_failure(edge: Edge) -> None:
    workflow = _workflow(edge, execution_ttl_sec=120)
    run = _run(edge, workflow["uuid"])
    assert run["expire_time_sec"] == int(START) + 120
    edge.clock.advance(119)
    assert _get(edge, run["uuid"])["status"] == RUN["PENDING"]
    edge.clock.advance(1)
    expired = _get(edge, run["uuid"])
    assert (expired["status"], expired["expire_time_sec"]) == (RUN["FAILURE"], int(START) + 120)
    message(_answer(edge, run["uuid"], answer_index="0"), 409)
    seeded = _get(edge, "ex-workflow_runs-1")
    assert seeded["status"] == RUN["PENDING"]
    edge.clock.advance(600)
    assert _get(edge, "ex-workflow_runs-1")["status"] == RUN["FAILURE"]


def test_query_filters(edge: Edge) -> None:
    workflow = _workflow(edge)
    mine = _run(edge, workflow["uuid"])
    done = _run(edge, workflow["uuid"], user_uuid=edge.tenant.api_user_uuid)
    _answer(edge, done["uuid"], answer_index="0")
    by_workflow = ok(
        edge.http.get("/api/v1/workflow_runs", params={"workflow_uuid": workflow["uuid"]}),
        "workflow_runs.query",
    )
    assert {r["uuid"] for r in by_workflow["workflow_runs"]} == {mine["uuid"], done["uuid"]}
    succeeded = edge.http.get("/api/v1/workflow_runs", params={"status": "SUCCESS"}).json()[
        "workflow_runs"
    ]
    assert [r["uuid"] for r in succeeded] == [done["uuid"]]
    by_user = edge.http.get(
        "/api/v1/workflow_runs", params={"user_uuid": "ex-users-1", "status": "PENDING"}
    ).json()
    assert mine["uuid"] in {r["uuid"] for r in by_user["workflow_runs"]}
    assert done["uuid"] not in {r["uuid"] for r in by_user["workflow_runs"]}
    message(edge.http.get("/api/v1/workflow_runs", params={"status": "DONE"}), 400)


def test_run_of_an_unknown_workflow_is_404(edge: Edge) -> None:
    message(
        edge.http.post("/api/v1/workflow_runs", json={"workflow_run": {"workflow_uuid": "nope"}}),
        404,
    )
