"""Actions over HTTP: catalogue, describe, invoke, and every refusal on the way."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from soarpack.pack import Pack
from soarpack.sandbox import SandboxState
from soarpack.server.exposure import unserved_actions
from tests.server.conftest import Api, ApiFactory

ALERTS = "netskope.alerts.list"
GOOD_INPUTS = {"timeperiod": 86400, "limit": 1}


def vendor_requests(state: SandboxState) -> list[dict[str, Any]]:
    return [e for e in state.logged_requests() if not e["path"].startswith("/_sandbox")]


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert body["request_id"] == response.headers["X-Request-ID"]
    error: dict[str, Any] = body["error"]
    return error


def test_healthz_needs_no_key(api: Api) -> None:
    with api.client(key=None) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize(
    ("key", "visible"),
    [
        pytest.param("reader", lambda s: s.side_effect == "read", id="read-only key"),
        pytest.param(
            "netskope-reader",
            lambda s: s.side_effect == "read" and s.name.startswith("netskope."),
            id="pattern key",
        ),
        pytest.param("operator", lambda s: True, id="all side effects"),
    ],
)
def test_catalogue_lists_only_what_the_key_may_call(
    api: Api, pack: Pack, key: str, visible: Any
) -> None:
    with api.client(key) as client:
        response = client.get("/actions")
    assert response.status_code == 200
    names = [entry["name"] for entry in response.json()]
    served = [s for s in pack.actions.values() if s.name not in unserved_actions(pack)]
    assert names == sorted(s.name for s in served if visible(s))
    assert set(response.json()[0]) == {"name", "title", "description", "connection", "side_effect"}


def test_describe_gives_schemas_and_side_effect(api: Api) -> None:
    with api.client() as client:
        response = client.get(f"/actions/{ALERTS}")
    assert response.status_code == 200
    described = response.json()
    assert described["name"] == ALERTS
    assert described["side_effect"] == "read"
    assert "timeperiod" in {row["name"] for row in described["inputs"]}
    assert described["input"] and described["output"]


def test_head_describes_and_never_invokes(api: Api, tenant: SandboxState) -> None:
    with api.client("operator") as client:
        response = client.head("/actions/lacework_edge.users.suspend")
    assert response.status_code == 200
    assert vendor_requests(tenant) == []


def test_invoke_runs_the_action_against_the_vendor(api: Api, tenant: SandboxState) -> None:
    with api.client() as client:
        response = client.post(f"/actions/{ALERTS}", json=GOOD_INPUTS)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True
    assert result["action"] == ALERTS
    assert result["data"]["count"] == 1
    [sent] = vendor_requests(tenant)
    assert sent["path"] == "/api/v1/alerts"
    assert sent["query"]["limit"] == "1"


def test_bad_input_is_400_naming_every_field_and_nothing_is_sent(
    api: Api, tenant: SandboxState
) -> None:
    with api.client() as client:
        response = client.post(
            f"/actions/{ALERTS}", json={"timeperiod": 86400, "starttime": 1700000000, "limit": 0}
        )
    assert response.status_code == 400
    error = error_of(response)
    assert error["kind"] == "invalid_input"
    assert error["type"] == "InputError"
    assert error["exit_code"] == 3
    pointers = {problem["pointer"] for problem in error["errors"]}
    assert "/limit" in pointers
    assert len(error["errors"]) >= 2
    assert vendor_requests(tenant) == []


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        pytest.param(b"{not json", "json", id="not JSON"),
        pytest.param(b"[1, 2]", "type", id="an array"),
        pytest.param(b'"text"', "type", id="a string"),
        pytest.param(b'{"limit": NaN}', "json", id="NaN"),
        pytest.param(b"\xff\xfe{", "json", id="not UTF-8"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_400(
    api: Api, tenant: SandboxState, body: bytes, rule: str
) -> None:
    with api.client() as client:
        response = client.post(
            f"/actions/{ALERTS}", content=body, headers={"Content-Type": "application/json"}
        )
    assert response.status_code == 400
    assert [p["rule"] for p in error_of(response)["errors"]] == [rule]
    assert vendor_requests(tenant) == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="no key"),
        pytest.param({"Authorization": "Bearer spk_not-a-configured-key"}, id="wrong key"),
        pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="not bearer"),
        pytest.param({"Authorization": "Bearer"}, id="empty bearer"),
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/actions", id="catalogue"),
        pytest.param("POST", f"/actions/{ALERTS}", id="invoke"),
        pytest.param("GET", "/openapi.json", id="openapi"),
    ],
)
def test_no_valid_key_is_401(
    api: Api, tenant: SandboxState, headers: dict[str, str], method: str, path: str
) -> None:
    with api.client(key=None, **headers) as client:
        response = client.request(method, path, json=GOOD_INPUTS)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    error = error_of(response)
    assert (error["kind"], error["type"], error["exit_code"]) == ("auth", "Unauthorized", 5)
    assert vendor_requests(tenant) == []


@pytest.mark.parametrize(
    ("key", "action", "reason"),
    [
        pytest.param(
            "reader",
            "lacework_edge.users.suspend",
            "destructive action",
            id="read key, destructive",
        ),
        pytest.param(
            "reader", "netskope.client_status.create", "write action", id="read key, write"
        ),
        pytest.param(
            "netskope-reader", "lacework_edge.users.get", "no action pattern", id="pattern"
        ),
    ],
)
def test_an_action_outside_the_scope_is_403_and_nothing_is_sent(
    api: Api, tenant: SandboxState, key: str, action: str, reason: str
) -> None:
    with api.client(key) as client:
        invoked = client.post(f"/actions/{action}", json={})
        described = client.get(f"/actions/{action}")
    for response in (invoked, described):
        assert response.status_code == 403
        error = error_of(response)
        assert (error["kind"], error["type"]) == ("auth", "Forbidden")
        assert reason in error["message"]
        assert key not in error["message"]
    assert vendor_requests(tenant) == []


@pytest.mark.parametrize(
    ("method", "path", "status", "kind"),
    [
        pytest.param("POST", "/actions/netskope.nope", 404, "NotFound", id="unknown action"),
        pytest.param("GET", "/actions/netskope.nope", 404, "NotFound", id="describe unknown"),
        pytest.param("GET", "/no/such/route", 404, "NotFound", id="unknown route"),
        pytest.param("DELETE", "/actions", 405, "MethodNotAllowed", id="wrong method"),
    ],
)
def test_unknown_things_are_json_errors(
    api: Api, method: str, path: str, status: int, kind: str
) -> None:
    with api.client() as client:
        response = client.request(method, path)
    assert response.status_code == status
    assert error_of(response)["type"] == kind


def test_a_body_over_the_limit_is_413_whether_or_not_its_length_is_declared(
    make_api: ApiFactory, tenant: SandboxState
) -> None:
    api = make_api(max_body_bytes=1000)
    big = b'{"limit": 1, "pad": "' + b"x" * 5000 + b'"}'

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(big), 100):
            yield big[start : start + 100]

    with api.client() as client:
        declared = client.post(f"/actions/{ALERTS}", content=big)
    with api.client() as client:
        streamed = client.post(f"/actions/{ALERTS}", content=chunked())
    assert "content-length" not in streamed.request.headers
    for response in (declared, streamed):
        assert response.status_code == 413
        error = error_of(response)
        assert (error["kind"], error["type"], error["exit_code"]) == ("input", "BodyTooLarge", 3)
    assert vendor_requests(tenant) == []


def test_over_the_keys_rate_is_429_with_retry_after_and_nothing_sent(
    api: Api, tenant: SandboxState
) -> None:
    with api.client("tight") as client:
        first = [client.post(f"/actions/{ALERTS}", json=GOOD_INPUTS) for _ in range(2)]
        refused = client.post(f"/actions/{ALERTS}", json=GOOD_INPUTS)
    assert [r.status_code for r in first] == [200, 200]
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    error = error_of(refused)
    assert (error["kind"], error["type"], error["exit_code"]) == (
        "rate_limited",
        "TooManyRequests",
        8,
    )
    assert len(vendor_requests(tenant)) == 2


def test_over_the_keys_concurrency_is_429_and_nothing_sent(api: Api, tenant: SandboxState) -> None:
    tenant.faults.push({"delay": 1.5})
    slow: list[httpx.Response] = []
    with api.client("single") as client:
        thread = threading.Thread(
            target=lambda: slow.append(client.post(f"/actions/{ALERTS}", json=GOOD_INPUTS))
        )
        thread.start()
        time.sleep(0.5)
        with api.client("single") as other:
            refused = other.post(f"/actions/{ALERTS}", json=GOOD_INPUTS)
        thread.join()
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    assert slow[0].status_code == 200
    assert len(vendor_requests(tenant)) == 1


@pytest.mark.parametrize(
    ("fault", "status", "kind", "exit_code"),
    [
        pytest.param({"status": 429, "retry_after": 7}, 429, "rate_limited", 8, id="vendor 429"),
        pytest.param({"status": 500}, 502, "server", 6, id="vendor 500"),
        pytest.param({"malformed": True}, 502, "malformed", 6, id="malformed answer"),
    ],
)
def test_vendor_failures_map_to_their_status(
    api: Api, tenant: SandboxState, fault: dict[str, Any], status: int, kind: str, exit_code: int
) -> None:
    tenant.faults.push(fault)
    with api.client() as client:
        response = client.post(f"/actions/{ALERTS}", json=GOOD_INPUTS)
    assert response.status_code == status
    error = error_of(response)
    assert (error["kind"], error["exit_code"]) == (kind, exit_code)
    if status == 429:
        assert response.headers["Retry-After"] == "7"
        assert error["retry_after"] == 7


def test_a_vendor_slower_than_the_action_timeout_is_504(
    make_api: ApiFactory, tenant: SandboxState
) -> None:
    api = make_api(action_timeout=0.5)
    tenant.faults.push({"delay": 2})
    started = time.monotonic()
    with api.client() as client:
        response = client.post(f"/actions/{ALERTS}", json=GOOD_INPUTS)
    assert time.monotonic() - started < 1.8
    assert response.status_code == 504
    error = error_of(response)
    assert (error["kind"], error["type"], error["exit_code"]) == ("timeout", "RequestTimeout", 7)


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        pytest.param("req-123.abc", True, id="sane id echoed"),
        pytest.param("bad id\twith spaces", False, id="odd id replaced"),
        pytest.param("x" * 300, False, id="long id replaced"),
    ],
)
def test_every_response_has_a_request_id(api: Api, sent: str, echoed: bool) -> None:
    with api.client(**{"X-Request-ID": sent}) as client:
        ok = client.get("/healthz")
        refused = client.get("/actions/netskope.nope")
    for response in (ok, refused):
        got = response.headers["X-Request-ID"]
        assert (got == sent) is echoed
        assert got
    assert refused.json()["request_id"] == refused.headers["X-Request-ID"]


def test_openapi_is_served_to_keys(api: Api) -> None:
    with api.client() as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert f"/actions/{ALERTS}" in document["paths"]


def test_anonymous_callers_get_the_anonymous_scope(make_api: ApiFactory, pack: Pack) -> None:
    api = make_api(allow_anonymous=True)
    with api.client(key=None) as client:
        listed = client.get("/actions")
        document = client.get("/openapi.json")
        write = client.post("/actions/lacework_edge.users.suspend", json={})
    with api.client(key="spk_wrong") as client:
        wrong = client.get("/actions")
    assert listed.status_code == 200
    assert len(listed.json()) == sum(1 for s in pack.actions.values() if s.side_effect == "read")
    assert document.status_code == 200
    assert write.status_code == 403
    # A key that is presented must be valid, anonymous access or not.
    assert wrong.status_code == 401
