"""Netskope REST v1 actions: what goes on the wire, what comes back, and each failure."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from soarpack import annotated, errors
from soarpack.pack import Pack
from tests.conftest import CANARY, EngineFactory, transport_for


def ok(data: list[Any]) -> dict[str, Any]:
    return {"status": "success", "msg": "", "data": data}


CLIENT = {
    "_id": "c1",
    "client_install_time": 1700000000,
    "device_id": "dev-1",
    "host_info": {
        "device_make": "Dell",
        "device_model": "XPS",
        "hostname": "LT-0A1B2C",
        "os": 0,
        "os_version": "11",
        "nsdeviceuid": "NSD-1",
    },
    "last_event": {"actor": 2, "event": 1, "status": 1, "timestamp": 1700000100},
    "users": [
        {
            "_id": "u1",
            "client_version": "118.0",
            "device_classification_status": 1,
            "last_event": {"actor": 0, "event": 12, "status": 1, "timestamp": 1700000200},
            "user_added_time": 1700000000,
            "user_source": 0,
            "userkey": "jane.doe@example.com",
            "username": "jane.doe@example.com",
        }
    ],
}


def body_of(route: respx.Route, index: int = -1) -> dict[str, Any]:
    return json.loads(route.calls[index].request.content)


# -- clients ---------------------------------------------------------------------


def test_clients_list_sends_token_and_filters_in_the_body(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    route = router.post("/api/v1/clients").respond(200, json=ok([CLIENT]))
    result = make_engine(transport_for(router)).invoke(
        "netskope.clients.list",
        {"query": "host_info.os eq 0", "username": "jane.doe@example.com", "limit": 10},
    )
    request = route.calls.last.request
    assert (
        request.method == "POST" and request.url.path == "/api/v1/clients" and not request.url.query
    )
    assert body_of(route) == {
        "token": CANARY,
        "query": "(host_info.os eq 0) and users.username eq 'jane.doe@example.com'",
        "limit": 10,
        "skip": 0,
    }
    assert request.headers["Content-Type"] == "application/json"
    assert result.data["count"] == 1
    assert result.data["paging"] == {"pages": 1, "next_skip": 1, "truncated": False}
    assert [c.status for c in result.calls] == [200] and CANARY not in result.calls[0].url


def test_clients_codes_are_decoded_beside_raw_values(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    router.post("/api/v1/clients").respond(200, json=ok([CLIENT]))
    client = (
        make_engine(transport_for(router)).invoke("netskope.clients.list", {}).data["clients"][0]
    )
    assert client["host_info"]["os"] == 0 and client["host_info"]["os_name"] == "Windows"
    assert (
        client["last_event"]["actor_name"] == "System"
        and client["last_event"]["event_name"] == "Tunnel Up"
    )
    user = client["users"][0]
    assert (
        user["device_classification_status"] == 1
        and user["device_classification_status_name"] == "unmanaged"
    )
    assert user["user_source_name"] == "Directory"
    # 12 is not in the vendor's event mapping: kept, named null, and flagged
    assert user["last_event"]["event"] == 12 and user["last_event"]["event_name"] is None
    assert client["unknown_codes"] == [{"field": "users[0].last_event.event", "code": 12}]


def test_clients_all_pages_advances_skip_until_a_short_page(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    pages = [
        [{**CLIENT, "_id": f"c{i}"} for i in range(start, start + n)]
        for start, n in ((0, 50), (50, 50), (100, 7))
    ]
    route = router.post("/api/v1/clients").mock(
        side_effect=[httpx.Response(200, json=ok(p)) for p in pages]
    )
    result = make_engine(transport_for(router)).invoke(
        "netskope.clients.list", {"all_pages": True, "limit": 50, "max_records": 1000}
    )
    assert [(body_of(route, i)["skip"], body_of(route, i)["limit"]) for i in range(3)] == [
        (0, 50),
        (50, 50),
        (100, 50),
    ]
    assert result.data["count"] == 107 and result.data["paging"] == {
        "pages": 3,
        "next_skip": 107,
        "truncated": False,
    }
    assert len(result.calls) == 3


def test_clients_all_pages_stops_at_max_records(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    route = router.post("/api/v1/clients").mock(
        side_effect=lambda request: httpx.Response(
            200,
            json=ok(
                [{**CLIENT, "_id": f"c{i}"} for i in range(json.loads(request.content)["limit"])]
            ),
        )
    )
    result = make_engine(transport_for(router)).invoke(
        "netskope.clients.list", {"all_pages": True, "limit": 40, "max_records": 100}
    )
    assert [body_of(route, i)["limit"] for i in range(3)] == [40, 40, 20]
    assert result.data["count"] == 100 and result.data["paging"]["truncated"] is True


@pytest.mark.parametrize(
    ("inputs", "pointer", "rule"),
    [
        pytest.param({"limit": 5000}, "/limit", "maximum", id="limit-over-4999"),
        pytest.param({"limit": 0}, "/limit", "minimum", id="limit-zero"),
        pytest.param({"skip": -1}, "/skip", "minimum", id="negative-skip"),
        pytest.param({"username": "x' or '1' eq '1"}, "/username", "pattern", id="quote-injection"),
        pytest.param({"hostnme": "LT-1"}, "/hostnme", "additionalProperties", id="unknown-field"),
    ],
)
def test_clients_bad_input_is_refused_before_sending(
    router: respx.Router,
    make_engine: EngineFactory,
    inputs: dict[str, Any],
    pointer: str,
    rule: str,
) -> None:
    with pytest.raises(errors.InputError) as caught:
        make_engine(transport_for(router)).invoke("netskope.clients.list", inputs)
    assert (pointer, rule) in [(e.pointer, e.rule) for e in caught.value.errors]
    assert router.calls.call_count == 0


# -- alerts ----------------------------------------------------------------------


ALERT = {
    "_id": "d3a03deeb9ec657d18f48a43",
    "alert_type": "DLP",
    "alert_name": "PCI upload",
    "type": "nspolicy",
    "acked": "false",
    "timestamp": 1700000000,
    "user": "jane.doe@example.com",
    "userkey": "jane.doe@example.com",
}


def test_alerts_list_sends_filters_in_the_url_and_token_in_the_body(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    route = router.post("/api/v1/alerts").respond(200, json=ok([ALERT]))
    result = make_engine(transport_for(router)).invoke(
        "netskope.alerts.list",
        {
            "timeperiod": 86400,
            "type": "DLP",
            "acked": False,
            "user": "jane.doe@example.com",
            "limit": 10,
        },
    )
    request = route.calls.last.request
    assert dict(request.url.params) == {
        "query": "user eq 'jane.doe@example.com'",
        "type": "DLP",
        "acked": "false",
        "timeperiod": "86400",
        "limit": "10",
        "skip": "0",
    }
    assert body_of(route) == {"token": CANARY}
    assert result.data["alerts"] == [ALERT] and result.data["count"] == 1


@pytest.mark.parametrize(
    ("window", "fields"),
    [
        pytest.param(
            {"timeperiod": 3600, "starttime": 1, "endtime": 2},
            ["/endtime", "/starttime", "/timeperiod"],
            id="timeperiod+start/end",
        ),
        pytest.param(
            {"timeperiod": 3600, "starttime": 1},
            ["/starttime", "/timeperiod"],
            id="timeperiod+starttime",
        ),
        pytest.param({"starttime": 1}, ["/starttime"], id="starttime-alone"),
        pytest.param(
            {"starttime": 1, "endtime": 2, "insertionstarttime": 1, "insertionendtime": 2},
            ["/endtime", "/insertionendtime", "/insertionstarttime", "/starttime"],
            id="two-pairs",
        ),
        pytest.param({}, [""], id="no-window"),
    ],
)
def test_alerts_need_exactly_one_time_window(
    router: respx.Router, make_engine: EngineFactory, window: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(errors.InputError) as caught:
        make_engine(transport_for(router)).invoke("netskope.alerts.list", window)
    assert sorted(e.pointer for e in caught.value.errors if e.rule == "oneOf") == fields
    assert "exactly one time window" in str(caught.value)
    assert router.calls.call_count == 0


@pytest.mark.parametrize(
    "window",
    [
        pytest.param({"timeperiod": 604800}, id="timeperiod"),
        pytest.param({"starttime": 1700000000, "endtime": 1700086400}, id="start-end"),
        pytest.param(
            {"insertionstarttime": 1700000000, "insertionendtime": 1700086400}, id="insertion"
        ),
    ],
)
def test_alerts_accept_each_time_window(
    router: respx.Router, make_engine: EngineFactory, window: dict[str, Any]
) -> None:
    route = router.post("/api/v1/alerts").respond(200, json=ok([]))
    make_engine(transport_for(router)).invoke("netskope.alerts.list", window)
    sent = dict(route.calls.last.request.url.params)
    assert {k: sent[k] for k in window} == {k: str(v) for k, v in window.items()}


def test_alerts_limit_is_bounded_by_the_vendor_maximum(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    with pytest.raises(
        errors.InputError, match=r"/limit: 10000 is greater than the maximum of 9999"
    ):
        make_engine(transport_for(router)).invoke(
            "netskope.alerts.list", {"timeperiod": 3600, "limit": 10000}
        )


# -- report ------------------------------------------------------------------------


def test_report_groups_in_the_url(router: respx.Router, make_engine: EngineFactory) -> None:
    rows = [
        {"user": "jane.doe@example.com", "count": 4},
        {"user": "sam.lee@example.com", "count": 1},
    ]
    route = router.post("/api/v1/report").respond(200, json=ok(rows))
    result = make_engine(transport_for(router)).invoke(
        "netskope.alerts.report",
        {"query": "alert_type eq 'DLP'", "groupby": "user", "timeperiod": 2592000},
    )
    assert dict(route.calls.last.request.url.params) == {
        "query": "alert_type eq 'DLP'",
        "type": "alert",
        "groupby": "user",
        "timeperiod": "2592000",
    }
    assert body_of(route) == {"token": CANARY}
    assert result.data == {"rows": rows, "count": 2}


def test_report_requires_groupby(router: respx.Router, make_engine: EngineFactory) -> None:
    with pytest.raises(errors.InputError) as caught:
        make_engine(transport_for(router)).invoke("netskope.alerts.report", {"timeperiod": 3600})
    assert [(e.pointer, e.rule) for e in caught.value.errors] == [("/groupby", "required")]


# -- vendor failures -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "error", "text"),
    [
        pytest.param(
            {
                "status": "error",
                "errorCode": "General Error",
                "errors": ["Invalid token. Check the REST API v1 token."],
            },
            errors.AuthenticationError,
            "Invalid token",
            id="v1-token-error",
        ),
        pytest.param(
            {
                "status": "error",
                "errorCode": "General Error",
                "errors": ["limit should be less than 5000"],
            },
            errors.VendorError,
            "limit should be less than 5000",
            id="v1-error-list",
        ),
        pytest.param(
            {"status": "error", "msg": "Query is malformed"},
            errors.VendorError,
            "Query is malformed",
            id="v1-msg",
        ),
    ],
)
def test_v1_errors_in_a_200_body(
    router: respx.Router, make_engine: EngineFactory, answer: dict[str, Any], error: type, text: str
) -> None:
    router.post("/api/v1/alerts").respond(200, json=answer)
    with pytest.raises(error) as caught:
        make_engine(transport_for(router)).invoke("netskope.alerts.list", {"timeperiod": 3600})
    assert (
        text in str(caught.value)
        and caught.value.vendor_message
        and text in caught.value.vendor_message
    )


def test_answer_without_the_data_list_is_malformed(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    router.post("/api/v1/alerts").respond(
        200, json={"status": "success", "data": {"not": "a list"}}
    )
    with pytest.raises(errors.MalformedResponseError, match="has no `data` list"):
        make_engine(transport_for(router)).invoke("netskope.alerts.list", {"timeperiod": 3600})


def test_records_of_the_wrong_shape_fail_the_output_check(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    router.post("/api/v1/clients").respond(
        200, json=ok([{"_id": 5, "host_info": {"hostname": ["x"]}}])
    )
    with pytest.raises(errors.MalformedResponseError) as caught:
        make_engine(transport_for(router)).invoke("netskope.clients.list", {})
    assert "/clients/0/_id" in str(caught.value) and "/clients/0/host_info/hostname" in str(
        caught.value
    )


def test_connection_test_reports_success(router: respx.Router, make_engine: EngineFactory) -> None:
    route = router.post("/api/v1/clients").respond(200, json=ok([CLIENT]))
    result = make_engine(transport_for(router)).invoke("netskope.connection.test", {})
    assert body_of(route) == {"token": CANARY, "limit": 1}
    assert (
        result.data["ok"] is True
        and result.data["base_url"] == "https://tenant.example.goskope.com"
    )


def test_connection_test_permission_denied(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    router.post("/api/v1/clients").respond(
        403, json={"status": "error", "errors": ["token lacks scope"]}
    )
    with pytest.raises(errors.PermissionDeniedError, match="token lacks scope"):
        make_engine(transport_for(router)).invoke("netskope.connection.test", {})


@pytest.mark.parametrize(
    ("code", "name", "flagged"),
    [
        pytest.param(0, "Windows", False, id="int"),
        pytest.param("0", "Windows", False, id="string-form"),
        pytest.param(None, None, False, id="null-is-absent"),
        pytest.param(99, None, True, id="unknown-int"),
        pytest.param(True, None, True, id="bool"),
        pytest.param(0.0, None, True, id="float"),
        pytest.param("00", None, True, id="not-the-decimal-form"),
    ],
)
def test_code_decoding_by_type(pack: Pack, code: Any, name: str | None, flagged: bool) -> None:
    client = {"$ref": "netskope/v1.json#/$defs/client"}
    out = annotated.with_names(pack.schemas, client, {"_id": "c1", "host_info": {"os": code}})
    assert out["host_info"]["os"] == code and out["host_info"]["os_name"] == name
    assert ("unknown_codes" in out) is flagged
    if flagged:
        assert out["unknown_codes"] == [{"field": "host_info.os", "code": code}]
