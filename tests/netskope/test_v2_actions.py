"""Netskope REST v2: data-export page actions and the Client Status iterator actions."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.engine import Engine
from tests.conftest import CANARY, EngineFactory, Sleeps, transport_for

PAGE_PATH = "/api/v2/events/dataexport/events/page"
RATE = {"RateLimit-Limit": "4", "RateLimit-Remaining": "3", "RateLimit-Reset": "1"}


def page_body(*ids: str, wait: int = 0, ok: int = 1) -> dict[str, Any]:
    return {
        "ok": ok,
        "result": [{"_id": i, "user": "jane@example.com"} for i in ids],
        "wait_time": wait,
    }


def v2(make_engine: EngineFactory, router: respx.Router) -> Engine:
    return make_engine(transport_for(router), "netskope_v2")


def test_fetch_page_sends_index_operation_and_header_token(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    route = router.get(PAGE_PATH).respond(200, json=page_body("a1", "a2", wait=5), headers=RATE)
    result = v2(make_engine, router).invoke(
        "netskope.dataexport.fetch_page", {"event_type": "page", "index": "soar-1"}
    )
    request = route.calls.last.request
    assert request.method == "GET" and request.content == b""
    assert dict(request.url.params) == {"index": "soar-1", "operation": "next"}
    assert request.headers["Netskope-Api-Token"] == CANARY and CANARY not in str(request.url)
    assert result.data == {
        "stream": "events/page",
        "index": "soar-1",
        "operation": "next",
        "count": 2,
        "records": [
            {"_id": "a1", "user": "jane@example.com"},
            {"_id": "a2", "user": "jane@example.com"},
        ],
        "wait_time": 5.0,
        "rate_limit": {"limit": 4, "remaining": 3, "reset": 1.0},
    }
    assert CANARY not in json.dumps(result.to_dict())


@pytest.mark.parametrize(
    ("inputs", "path", "operation"),
    [
        pytest.param(
            {"alert_type": "dlp", "index": "i"},
            "/api/v2/events/dataexport/alerts/dlp",
            "next",
            id="alert-type",
        ),
        pytest.param(
            {"event_type": "audit", "index": "i", "operation": 1700000000},
            "/api/v2/events/dataexport/events/audit",
            "1700000000",
            id="epoch",
        ),
        pytest.param(
            {"event_type": "page", "index": "i", "operation": "head"}, PAGE_PATH, "head", id="head"
        ),
        pytest.param(
            {"event_type": "page", "index": "i", "operation": "tail"}, PAGE_PATH, "tail", id="tail"
        ),
        pytest.param(
            {"event_type": "page", "index": "i", "operation": "resend"},
            PAGE_PATH,
            "resend",
            id="resend",
        ),
    ],
)
def test_fetch_page_paths_and_operations(
    router: respx.Router,
    make_engine: EngineFactory,
    inputs: dict[str, Any],
    path: str,
    operation: str,
) -> None:
    route = router.get(path).respond(200, json=page_body())
    result = v2(make_engine, router).invoke("netskope.dataexport.fetch_page", inputs)
    assert route.calls.last.request.url.params["operation"] == operation
    assert result.data["count"] == 0 and result.data["records"] == []


@pytest.mark.parametrize(
    ("inputs", "pointer", "rule"),
    [
        pytest.param(
            {"event_type": "page", "alert_type": "dlp", "index": "i"},
            "/event_type",
            "oneOf",
            id="both-types",
        ),
        pytest.param({"index": "i"}, "", "oneOf", id="no-type"),
        pytest.param(
            {"event_type": "pages", "index": "i"}, "/event_type", "enum", id="unknown-type"
        ),
        pytest.param({"event_type": "page", "index": ""}, "/index", "minLength", id="blank-index"),
        pytest.param(
            {"event_type": "page", "index": "a b"}, "/index", "pattern", id="index-with-space"
        ),
        pytest.param(
            {"event_type": "page", "index": "i", "operation": "later"},
            "/operation",
            "oneOf",
            id="bad-operation",
        ),
        pytest.param(
            {"event_type": "page", "index": "i", "operation": -5},
            "/operation",
            "oneOf",
            id="negative-epoch",
        ),
    ],
)
def test_fetch_page_bad_input_sends_nothing(
    make_engine: EngineFactory, inputs: dict[str, Any], pointer: str, rule: str
) -> None:
    router = respx.Router(assert_all_called=False)
    with pytest.raises(errors.InputError) as caught:
        make_engine(transport_for(router), "netskope_v2").invoke(
            "netskope.dataexport.fetch_page", inputs
        )
    assert (pointer, rule) in [(e.pointer, e.rule) for e in caught.value.errors]
    assert router.calls.call_count == 0


def test_403_is_an_auth_error_about_the_v2_token_scope_without_retry(
    router: respx.Router, make_engine: EngineFactory, sleeps: Sleeps
) -> None:
    route = router.get(PAGE_PATH).respond(403, json={"ok": 0, "message": "Invalid token"})
    with pytest.raises(errors.AuthenticationError) as caught:
        v2(make_engine, router).invoke(
            "netskope.dataexport.fetch_page", {"event_type": "page", "index": "i"}
        )
    assert route.call_count == 1 and sleeps == []
    assert "API v2 token" in caught.value.hint and "scope" in caught.value.hint
    assert "expired" in caught.value.hint


def test_409_says_another_consumer_uses_the_index(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    route = router.get(PAGE_PATH).respond(409, json={"ok": 0, "message": "concurrent request"})
    with pytest.raises(errors.ConflictError) as caught:
        v2(make_engine, router).invoke(
            "netskope.dataexport.fetch_page", {"event_type": "page", "index": "i"}
        )
    assert route.call_count == 1
    assert "Another consumer" in caught.value.hint and "index" in caught.value.hint


@pytest.mark.parametrize(
    ("headers", "waited"),
    [
        pytest.param(
            {"Retry-After": "2", "RateLimit-Remaining": "0", "RateLimit-Reset": "1"},
            2.0,
            id="retry-after",
        ),
        pytest.param(
            {"RateLimit-Remaining": "0", "RateLimit-Reset": "1"}, 1.0, id="ratelimit-reset"
        ),
    ],
)
def test_429_waits_then_retries(
    router: respx.Router,
    make_engine: EngineFactory,
    sleeps: Sleeps,
    headers: dict[str, str],
    waited: float,
) -> None:
    route = router.get(PAGE_PATH)
    route.side_effect = [
        httpx.Response(429, json={"message": "API rate limit exceeded"}, headers=headers),
        httpx.Response(200, json=page_body("x")),
    ]
    result = v2(make_engine, router).invoke(
        "netskope.dataexport.fetch_page", {"event_type": "page", "index": "i"}
    )
    assert result.data["count"] == 1 and route.call_count == 2 and waited in sleeps


@pytest.mark.parametrize(
    ("operation", "calls"),
    [
        # next may have moved the cursor before the 500: repeating it could skip a page
        pytest.param("next", 1, id="next-not-repeated"),
        pytest.param("resend", 3, id="resend-retried"),
    ],
)
def test_5xx_and_timeouts_retry_only_what_cannot_skip_a_page(
    router: respx.Router, make_engine: EngineFactory, operation: str, calls: int
) -> None:
    route = router.get(PAGE_PATH).mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(errors.RequestTimeout):
        v2(make_engine, router).invoke(
            "netskope.dataexport.fetch_page",
            {"event_type": "page", "index": "i", "operation": operation},
        )
    assert route.call_count == calls


def test_503_is_retried_even_for_next(router: respx.Router, make_engine: EngineFactory) -> None:
    route = router.get(PAGE_PATH)
    route.side_effect = [httpx.Response(503), httpx.Response(200, json=page_body("x"))]
    result = v2(make_engine, router).invoke(
        "netskope.dataexport.fetch_page", {"event_type": "page", "index": "i"}
    )
    assert result.data["count"] == 1 and route.call_count == 2


@pytest.mark.parametrize(
    ("response", "error", "text"),
    [
        pytest.param(
            httpx.Response(200, content=b'{"ok": 1, "result": [{"_id": "a"'),
            errors.MalformedResponseError,
            "not the documented JSON",
            id="truncated",
        ),
        pytest.param(
            httpx.Response(200, json={"ok": 1, "result": "nope"}),
            errors.MalformedResponseError,
            "not the documented JSON",
            id="result-not-list",
        ),
        pytest.param(
            httpx.Response(200, json={"ok": 0, "message": "index busy"}),
            errors.VendorError,
            "index busy",
            id="ok-0",
        ),
        pytest.param(
            httpx.Response(200, html="<html>portal</html>"),
            errors.MalformedResponseError,
            "HTML page",
            id="html",
        ),
    ],
)
def test_malformed_pages(
    router: respx.Router,
    make_engine: EngineFactory,
    response: httpx.Response,
    error: type,
    text: str,
) -> None:
    router.get(PAGE_PATH).mock(return_value=response)
    with pytest.raises(error, match=text):
        v2(make_engine, router).invoke(
            "netskope.dataexport.fetch_page", {"event_type": "page", "index": "i"}
        )


def test_check_resends_on_a_private_probe_index(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    route = router.get(PAGE_PATH).respond(200, json=page_body(), headers=RATE)
    result = v2(make_engine, router).invoke("netskope.dataexport.check", {})
    assert dict(route.calls.last.request.url.params) == {
        "index": "soarpack-connection-probe",
        "operation": "resend",
    }
    assert result.data["ok"] is True and result.data["rate_limit"]["limit"] == 4


# -- Client Status iterator --------------------------------------------------------------

CS = "/api/v2/dataexport/iterator/soar-cs"


def test_client_status_create(router: respx.Router, make_engine: EngineFactory) -> None:
    route = router.post(CS).respond(200, json={"ok": 1, "status": "creating"})
    result = v2(make_engine, router).invoke("netskope.client_status.create", {"index": "soar-cs"})
    request = route.calls.last.request
    assert request.url.params["eventtype"] == "clientstatus"
    assert request.headers["Netskope-Api-Token"] == CANARY
    assert result.data["status"] == "creating" and result.data["ready"] is False


def test_client_status_create_when_one_exists_is_a_conflict(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    router.post(CS).respond(409, json={"ok": 0, "message": "iterator other-index already exists"})
    with pytest.raises(errors.ConflictError, match="already exists"):
        v2(make_engine, router).invoke("netskope.client_status.create", {"index": "soar-cs"})


def test_client_status_status(router: respx.Router, make_engine: EngineFactory) -> None:
    router.get(CS).respond(200, json={"ok": 1, "status": "ready"})
    result = v2(make_engine, router).invoke("netskope.client_status.status", {"index": "soar-cs"})
    assert result.data["ready"] is True


def test_wait_ready_polls_with_growing_intervals(
    router: respx.Router, make_engine: EngineFactory, sleeps: Sleeps
) -> None:
    route = router.get(CS)
    route.side_effect = [
        httpx.Response(200, json={"ok": 1, "status": "creating"}),
        httpx.Response(200, json={"ok": 1, "status": "creating"}),
        httpx.Response(200, json={"ok": 1, "status": "ready"}),
    ]
    result = v2(make_engine, router).invoke(
        "netskope.client_status.wait_ready", {"index": "soar-cs", "poll_interval": 2}
    )
    assert result.data == {
        "index": "soar-cs",
        "status": "ready",
        "ready": True,
        "polls": 3,
        "waited_seconds": 6.0,
    }
    assert sleeps == [2.0, 4.0]


def test_wait_ready_times_out_with_a_clear_error(
    router: respx.Router, make_engine: EngineFactory, sleeps: Sleeps
) -> None:
    router.get(CS).respond(200, json={"ok": 1, "status": "creating"})
    with pytest.raises(errors.RequestTimeout, match="still 'creating' after 3 polls") as caught:
        v2(make_engine, router).invoke(
            "netskope.client_status.wait_ready",
            {"index": "soar-cs", "timeout_seconds": 10, "poll_interval": 2},
        )
    assert sleeps == [2.0, 4.0]
    # Only reads were sent and nothing changed: a later wait may find it ready.
    assert caught.value.processed is False and caught.value.transient is False
    assert "wait longer" in (caught.value.hint or "")


def test_client_status_fetch_parses_csv_and_reads_wait_time_header(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    csv_text = (
        "timestamp,device_id,hostname,user,event,reason\r\n"
        '1700000000,D-1,"host, one",jane@example.com,Tunnel Up,"said ""ok"""\r\n'
        "1700000060,D-2,host2,jo\u00eb@example.com,Tunnel Down,\r\n"
    )
    route = router.get(f"{CS}/events").respond(
        200, content=csv_text.encode(), headers={"Content-Type": "text/csv", "wait_time": "3"}
    )
    result = v2(make_engine, router).invoke(
        "netskope.client_status.fetch_page", {"index": "soar-cs"}
    )
    assert route.calls.last.request.url.params["operation"] == "next"
    assert result.data["columns"] == [
        "timestamp",
        "device_id",
        "hostname",
        "user",
        "event",
        "reason",
    ]
    assert result.data["records"][0]["hostname"] == "host, one"
    assert result.data["records"][0]["reason"] == 'said "ok"'
    assert result.data["records"][1]["user"] == "jo\u00eb@example.com"
    assert result.data["count"] == 2 and result.data["wait_time"] == 3.0


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(409, errors.ConflictError, id="concurrent-fetch"),
        pytest.param(404, errors.NotFoundError, id="no-such-iterator"),
        pytest.param(403, errors.AuthenticationError, id="bad-token"),
    ],
)
def test_client_status_fetch_failures(
    router: respx.Router, make_engine: EngineFactory, status: int, error: type
) -> None:
    route = router.get(f"{CS}/events").respond(
        status, json={"ok": 0, "message": f"failed {status}"}
    )
    with pytest.raises(error, match=f"failed {status}"):
        v2(make_engine, router).invoke("netskope.client_status.fetch_page", {"index": "soar-cs"})
    assert route.call_count == 1


def test_client_status_delete(router: respx.Router, make_engine: EngineFactory) -> None:
    route = router.delete(CS).respond(200, json={"ok": 1})
    result = v2(make_engine, router).invoke("netskope.client_status.delete", {"index": "soar-cs"})
    assert route.call_count == 1 and result.data == {"index": "soar-cs", "deleted": True}
