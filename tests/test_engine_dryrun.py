"""Dry run: reads run for real, the first request that would change something is described
(without the credential) and returned instead of sent. Checked on the wire (respx)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from soarpack.engine import Engine
from tests.conftest import BASE_URL, CANARY, EngineFactory, transport_for
from tests.lacework_edge.helpers import BASE, JWT, lacework_engine, login_route

USER = {"uuid": "u-1", "status": 2, "display_name": "Jane"}
ALERT = {"uuid": "a-1", "status": 1, "update_time": 1700000000123}


def _no_secret(planned: Any) -> None:
    """Absent, not merely masked: the plan is built without the credential at all."""
    shown = json.dumps(planned)
    assert CANARY not in shown and JWT not in shown and "***" not in shown


def _sent(router: respx.Router) -> list[tuple[str, str]]:
    return [(c.request.method, c.request.url.path) for c in router.calls]


def test_a_declared_write_is_described_and_not_sent(make_engine: EngineFactory) -> None:
    # No login route: a plan needs no credential, so none is obtained.
    router = respx.Router(base_url=BASE, assert_all_called=False)
    engine = lacework_engine(make_engine, router)
    devices = [{"user_uuid": "u-1", "uuid": "d-1"}]
    result = engine.invoke("lacework_edge.devices.delete", {"devices": devices}, dry_run=True)
    assert result.dry_run is True and result.calls == [] and router.calls.call_count == 0
    assert result.data == {
        "dry_run": True,
        "request": {
            "method": "DELETE",
            "url": f"{BASE}/api/v1/devices",
            # account_name comes from the connection's settings, as it would be sent.
            "body": {"account_name": "acme", "devices": devices},
        },
    }
    shown = result.to_dict()
    assert shown["dry_run"] is True and shown["data"] == result.data
    _no_secret(shown)


@pytest.mark.parametrize(
    ("name", "inputs", "reads", "planned"),
    [
        pytest.param(
            "lacework_edge.users.suspend",
            {"user_uuid": "u-1"},
            [("GET", "/api/v1/users/u-1", USER)],
            {
                "method": "PATCH",
                "url": f"{BASE}/api/v1/users/u-1",
                "body": {"account_name": "acme", "user": {"status": 3}, "uuid": "u-1"},
            },
            id="suspend-reads-the-user-first",
        ),
        pytest.param(
            "lacework_edge.alerts.ack",
            {"alert_uuid": "a-1"},
            [("GET", "/api/v1/alerts/a-1", ALERT)],
            {
                "method": "POST",
                "url": f"{BASE}/api/v1/alerts/a-1/investigation_actions",
                "body": {
                    "account_name": "acme",
                    "alert_uuid": "a-1",
                    "alert_update_time": 1700000000123,
                    "action": {"action_type": 1, "alert_status_change": {"new_status": 2}},
                },
            },
            id="ack-reads-the-update-time-first",
        ),
    ],
)
def test_a_handler_runs_its_reads_and_stops_at_its_first_write(
    name: str,
    inputs: dict[str, Any],
    reads: list[tuple[str, str, Any]],
    planned: dict[str, Any],
    make_engine: EngineFactory,
) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login_route(router)
    for method, path, body in reads:
        router.route(method=method, path=path).respond(200, json=body)
    result = lacework_engine(make_engine, router).invoke(name, inputs, dry_run=True)
    # The login and the reads went out; the write did not (respx refuses unrouted calls).
    assert _sent(router) == [("GET", "/api/v1/token_login")] + [(m, p) for m, p, _ in reads]
    assert result.dry_run is True and result.data == {"dry_run": True, "request": planned}
    assert [c.status for c in result.calls] == [200] * (1 + len(reads))
    _no_secret(result.to_dict())


@pytest.mark.parametrize(
    ("operation", "sent"),
    [
        pytest.param("resend", True, id="resend-is-a-read-and-runs"),
        pytest.param("next", False, id="next-moves-the-cursor-and-is-held-back"),
    ],
)
def test_a_narrowed_read_runs_and_a_cursor_move_is_held_back(
    operation: str, sent: bool, make_engine: EngineFactory
) -> None:
    router = respx.Router(base_url=BASE_URL, assert_all_called=False)
    path = "/api/v2/dataexport/iterator/soar-cs/events"
    route = router.get(path).respond(200, text="a,b\n1,2\n", headers={"wait_time": "0"})
    engine = make_engine(transport_for(router), "netskope_v2")
    result = engine.invoke(
        "netskope.client_status.fetch_page",
        {"index": "soar-cs", "operation": operation},
        dry_run=True,
    )
    assert route.called is sent and result.dry_run is not sent
    if not sent:
        assert result.data["request"] == {
            "method": "GET",
            "url": f"{BASE_URL}{path}?operation=next",
            "body": None,
        }


def test_a_handler_sending_through_the_client_itself_is_held_back_too(
    make_engine: EngineFactory,
) -> None:
    # netskope.dataexport.fetch_page sends with session.client.request, not session.request.
    router = respx.Router(base_url=BASE_URL, assert_all_called=False)
    route = router.get("/api/v2/events/dataexport/events/page").respond(200, json={"ok": 1})
    result = make_engine(transport_for(router), "netskope_v2").invoke(
        "netskope.dataexport.fetch_page", {"event_type": "page", "index": "soar-1"}, dry_run=True
    )
    assert not route.called and result.dry_run is True
    assert result.data["request"]["url"] == (
        f"{BASE_URL}/api/v2/events/dataexport/events/page?index=soar-1&operation=next"
    )


def test_a_read_action_in_a_dry_run_is_a_normal_call(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    route = router.post("/api/v1/clients").respond(
        200, json={"status": "success", "data": [], "msg": ""}
    )
    result = make_engine(transport_for(router)).invoke("netskope.clients.list", {}, dry_run=True)
    assert route.call_count == 1 and result.dry_run is False
    assert result.data["count"] == 0 and result.to_dict()["dry_run"] is False
    # The real request carried the token in its body: the dry run changed nothing for reads.
    assert json.loads(route.calls.last.request.content)["token"] == CANARY


@pytest.mark.parametrize(
    ("connection", "where"),
    [
        pytest.param("netskope", "body", id="netskope-v1-token-in-the-body"),
        pytest.param("metaaccess", "query", id="metaaccess-token-in-the-query"),
        pytest.param("netskope_v2", "header", id="netskope-v2-token-in-a-header"),
        pytest.param("lacework_edge", "header", id="lacework-edge-jwt-in-a-header"),
    ],
)
def test_a_described_request_carries_no_credential(
    connection: str, where: str, make_engine: EngineFactory
) -> None:
    router = respx.Router(base_url=BASE_URL, assert_all_called=False)
    engine: Engine = make_engine(transport_for(router), connection)
    client = engine.client(connection)
    assert client.spec.auth.place == where
    planned = client.describe("POST", "/api/x", {"q": "a b"}, {"id": 7})
    assert planned == {"method": "POST", "url": f"{BASE_URL}/api/x?q=a+b", "body": {"id": 7}}
    _no_secret(planned)
    assert router.calls.call_count == 0  # describing obtains no token either


def test_a_dry_run_value_that_is_a_registered_secret_is_masked(
    make_engine: EngineFactory,
) -> None:
    # Inputs are data and are shown; a value that happens to be a secret still is not.
    router = respx.Router(base_url=BASE, assert_all_called=False)
    engine = lacework_engine(make_engine, router)
    engine.client("lacework_edge")  # reading the settings registers the API key as secret
    devices = [{"user_uuid": CANARY, "uuid": "d-1"}]
    result = engine.invoke("lacework_edge.devices.delete", {"devices": devices}, dry_run=True)
    body = result.data["request"]["body"]
    assert body["devices"] == [{"user_uuid": "***", "uuid": "d-1"}]


def test_without_dry_run_the_write_is_sent(make_engine: EngineFactory) -> None:
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login_route(router)
    route = router.delete("/api/v1/devices").mock(return_value=httpx.Response(200, json={}))
    result = lacework_engine(make_engine, router).invoke(
        "lacework_edge.devices.delete", {"devices": [{"user_uuid": "u-1", "uuid": "d-1"}]}
    )
    assert route.call_count == 1 and result.dry_run is False and result.data == {}
