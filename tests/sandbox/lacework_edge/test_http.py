"""Lacework Edge simulator: routing, bindings, request validation, faults, request log."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from soarpack.sandbox import InProcessTransport, create_lacework_edge_app
from soarpack.sandbox.lacework_edge.auth import auth_headers
from tests.sandbox.lacework_edge.helpers import (
    API_KEY,
    BASE_URL,
    Edge,
    edge,
    make_state,
    message,
    ok,
    open_edge,
)

__all__ = ["edge"]


# --- routing --------------------------------------------------------------------------


def test_unknown_path_is_404_and_wrong_method_405(edge: Edge) -> None:
    assert "no operation" in message(edge.http.get("/api/v1/nothing_here"), 404)
    response = edge.http.put("/api/v1/users")
    assert "PUT is not allowed" in message(response, 405)
    assert "GET" in response.headers["Allow"]


def test_literal_segments_win_over_parameters(edge: Edge) -> None:
    bulk = edge.http.post(
        "/api/v1/alerts/investigation_actions", json={"investigation_actions": []}
    )
    assert ok(bulk, "alerts.investigate_many") == {"responses": []}
    assert ok(edge.http.get("/api/v1/alerts/ex-alerts-1"), "alerts.get")["uuid"] == "ex-alerts-1"
    onboarding = edge.http.patch(
        "/api/v1/accounts/onboarding", json={"onboarding": {"eula_signed": True}}
    )
    assert ok(onboarding, "accounts.update_onboarding")["eula_signed"] is True
    assert ok(edge.http.get("/api/v1/accounts/acme"), "accounts.get")["onboarding"]["eula_signed"]


def test_mounted_under_a_prefix() -> None:
    state, _ = make_state()
    app = create_lacework_edge_app(state)
    outer = Starlette(routes=[Mount("/lacework", app=app)])
    headers = auth_headers(state.lacework_edge)
    with httpx.Client(
        transport=InProcessTransport(outer), base_url=BASE_URL, headers=headers
    ) as http:
        assert (
            ok(http.get("/lacework/api/v1/users/ex-users-1"), "users.get")["uuid"] == "ex-users-1"
        )
        message(http.get("/lacework/api/v1/nope"), 404)
    assert state.logged_requests()[0]["path"] == "/lacework/api/v1/users/ex-users-1"


def test_bindings_serve_an_operation_at_another_path() -> None:
    bindings = {
        "lacework_edge.users.get": {"method": "GET", "path": "/v2/people/{person_id}"},
        "users.update": {"method": "POST", "path": "/v2/people/{person_id}:update"},
    }
    state, clock = make_state(bindings=bindings)
    edge = open_edge(state, clock)
    with edge.http, edge.raw:
        assert ok(edge.http.get("/v2/people/ex-users-1"), "users.get")["uuid"] == "ex-users-1"
        message(edge.http.get("/api/v1/users/ex-users-1"), 404)
        update = edge.http.post(
            "/v2/people/ex-users-1:update", json={"user": {"status": "SUSPENDED"}}
        )
        assert ok(update, "users.update")["status"] == 3
        assert ok(edge.http.get("/api/v1/users"), "users.query")["users"]  # unbound: unchanged


def test_bad_bindings_fail_when_the_app_is_built() -> None:
    state, _ = make_state(bindings={"users.nothing": {"path": "/x"}})
    with pytest.raises(ValueError, match="unknown actions"):
        create_lacework_edge_app(state)
    state, _ = make_state(bindings={"users.get": {"path": "/people"}})
    with pytest.raises(ValueError, match="parameters"):
        create_lacework_edge_app(state)
    state, _ = make_state(bindings={"users.get": {"path": "/api/v1/accesses/{id}"}})
    with pytest.raises(ValueError, match="both served"):
        create_lacework_edge_app(state)


# --- validation -----------------------------------------------------------------------


def test_body_fields_are_validated_against_the_input_schema(edge: Edge) -> None:
    wrong_type = edge.http.patch("/api/v1/users/ex-users-1", json={"user": {"display_name": 5}})
    assert message(wrong_type, 400).startswith("user.display_name:")
    unknown = edge.http.patch("/api/v1/users/ex-users-1", json={"colour": "red"})
    assert message(unknown, 400).startswith("colour:")
    bad_enum = edge.http.post("/api/v1/accesses", json={"access_type": 9})
    assert message(bad_enum, 400).startswith("access_type:")
    bad_status = edge.http.patch("/api/v1/users/ex-users-1", json={"user": {"status": "FROZEN"}})
    assert message(bad_status, 400).startswith("user.status:")


def test_query_parameters_are_coerced_and_validated(edge: Edge) -> None:
    missing = edge.http.get("/api/v1/alerts", params={"start_time": "1", "end_time": "2"})
    assert message(missing, 400) == "status_filter: is required"
    not_a_number = edge.http.get("/api/v1/integrations", params={"data_source": "x"})
    assert message(not_a_number, 400).startswith("data_source:")
    assert edge.http.get("/api/v1/integrations", params={"data_source": "1"}).status_code == 200
    stray = edge.http.get("/api/v1/users", params={"colour": "red"})
    assert message(stray, 400).startswith("colour: is not a query parameter")
    misplaced = edge.http.patch("/api/v1/users/ex-users-1", params={"user": "x"})
    message(misplaced, 400)


def test_a_body_that_is_not_a_json_object_is_400(edge: Edge) -> None:
    not_json = edge.http.post(
        "/api/v1/users", content=b"{nope", headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in message(not_json, 400)
    a_list = edge.http.post("/api/v1/users", json=[1, 2])
    assert "JSON object" in message(a_list, 400)


# --- faults ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_queued_server_errors_are_one_shot(edge: Edge, status: int) -> None:
    edge.tenant.faults.push({"status": status})
    message(edge.http.get("/api/v1/users"), status)
    assert edge.http.get("/api/v1/users").status_code == 200


def test_429_carries_retry_after(edge: Edge) -> None:
    edge.tenant.faults.push({"status": 429, "retry_after": 2})
    response = edge.http.get("/api/v1/users")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "2")


def test_malformed_and_html_answers(edge: Edge) -> None:
    edge.tenant.faults.push({"malformed": True})
    edge.tenant.faults.push({"html": True})
    malformed = edge.http.get("/api/v1/users")
    assert malformed.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        malformed.json()
    html = edge.http.get("/api/v1/users")
    assert (html.status_code, html.headers["content-type"].split(";")[0]) == (200, "text/html")


def test_dropped_connection_raises_a_protocol_error(edge: Edge) -> None:
    edge.tenant.faults.push({"drop": True})
    with pytest.raises(httpx.RemoteProtocolError):
        edge.http.get("/api/v1/users")
    assert edge.http.get("/api/v1/users").status_code == 200
    assert edge.state.logged_requests()[0]["fault"] == {"drop": True}


def test_faults_can_wait_for_one_action(edge: Edge) -> None:
    edge.tenant.faults.push({"status": 500}, count=2, match="alerts.investigate")
    edge.tenant.faults.push({"delay": 0})
    assert edge.http.get("/api/v1/users").status_code == 200  # takes the delay only
    assert len(edge.tenant.faults) == 2
    investigate = edge.http.post("/api/v1/alerts/ex-alerts-1/investigation_actions", json={})
    message(investigate, 500)
    assert edge.tenant.faults.pending() == [
        {"match": "alerts.investigate", "fault": {"status": 500}}
    ]


def test_token_login_can_fail_too(edge: Edge) -> None:
    edge.tenant.faults.push({"status": 500}, match="lacework_edge.auth.token_login")
    login = edge.raw.get(
        "/api/v1/token_login",
        params={"account": "acme"},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    message(login, 500)
    assert edge.tenant.logins == 0


@pytest.mark.parametrize(
    "fault",
    [{"drop": "yes"}, {"drop": True, "status": 500}, {"status": 418}, {}, "x"],
)
def test_bad_faults_are_refused(edge: Edge, fault: object) -> None:
    with pytest.raises(ValueError):
        edge.tenant.faults.push(fault)  # type: ignore[arg-type]


def test_admin_endpoints_queue_faults_and_show_the_tenant(edge: Edge) -> None:
    pushed = edge.raw.post(
        "/_sandbox/faults", json={"fault": {"status": 503}, "match": "users.query"}
    )
    assert pushed.json() == {"pending": 1}
    message(edge.http.get("/api/v1/users"), 503)
    assert edge.raw.post("/_sandbox/faults", json={"fault": {"status": 7}}).status_code == 400
    edge.raw.post("/_sandbox/faults", json={"fault": {"html": True}, "count": 2})
    assert edge.raw.delete("/_sandbox/faults").json() == {"cleared": 2}
    about = edge.raw.get("/_sandbox/tenant").json()
    assert about["logins"] == 0 and "acme" in about["accounts"]


# --- request log ----------------------------------------------------------------------


def test_request_log_masks_the_credential_and_secrets(edge: Edge) -> None:
    edge.raw.get(
        "/api/v1/token_login",
        params={"account": "acme"},
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    edge.http.post(
        "/api/v1/workflow_runs/ex-workflow_runs-1/answer",
        json={"token": 42, "mfa_passcode": "123456"},
    )
    edge.http.get("/api/v1/alerts/zzz")
    edge.http.get("/api/v1/nowhere", params={"a": "1"})
    login, answer, missing, nowhere = edge.state.logged_requests()
    assert login["headers"]["authorization"] == "Bearer ***"
    assert API_KEY not in json.dumps(login)
    assert (login["action"], login["status"], login["query"]) == (
        "lacework_edge.auth.token_login",
        200,
        {"account": "acme"},
    )
    assert answer["body"] == {"token": "***", "mfa_passcode": "***"}
    assert answer["method"] == "POST" and answer["status"] == 200
    assert (missing["status"], missing["fault"]) == (404, None)
    assert (nowhere["status"], nowhere["query"], nowhere["headers"]["authorization"]) == (
        404,
        {"a": "1"},
        "Bearer ***",
    )
