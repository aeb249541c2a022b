"""Hostile requests to the action server: each a clear JSON refusal, nothing sent on.

Deep nesting, lone surrogates, repeated keys, huge values, two Authorization headers,
a trailing slash and a body trickled a byte at a time: each reproducer of issue 17,
answered in our error shape with the vendor never called.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest

from soarpack.sandbox import SandboxState
from tests.server.conftest import SECRETS, Api, ApiFactory
from tests.server.test_server_actions import ALERTS, GOOD_INPUTS, error_of, vendor_requests


def post_raw(api: Api, body: bytes, key: str = "reader") -> tuple[int, dict[str, Any]]:
    with api.client(key) as client:
        response = client.post(
            f"/actions/{ALERTS}", content=body, headers={"Content-Type": "application/json"}
        )
    return response.status_code, error_of(response)


@pytest.mark.parametrize(
    ("depth", "field"),
    [
        # 1.8 KB and 60 KB: the sizes that gave a 500 (the input check, the body parser).
        pytest.param(900, "/query", id="900 deep"),
        pytest.param(30_000, "/query", id="30,000 deep"),
    ],
)
def test_deep_nesting_is_400_naming_the_field(
    api: Api, tenant: SandboxState, depth: int, field: str
) -> None:
    body = b'{"timeperiod": 86400, "query": ' + b"[" * depth + b"]" * depth + b"}"
    status, error = post_raw(api, body)
    assert status == 400
    assert error["type"] == "InputError" and error["exit_code"] == 3
    [problem] = error["errors"]
    assert problem["rule"] == "depth"
    assert problem["pointer"].startswith(field + "/0/0")
    assert "nested deeper than 64 levels" in problem["message"]
    assert vendor_requests(tenant) == []


def test_nesting_up_to_the_bound_reaches_the_schema_check(api: Api, tenant: SandboxState) -> None:
    # 64 levels in all (the body is one): not refused for depth, but by the schema.
    body = b'{"timeperiod": 86400, "query": ' + b"[" * 63 + b"]" * 63 + b"}"
    status, error = post_raw(api, body)
    assert status == 400
    assert [p["rule"] for p in error["errors"]] == ["type"]
    assert vendor_requests(tenant) == []


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        pytest.param(b'{"timeperiod": 86400, "query": "\\ud800"}', "/query", id="value"),
        pytest.param(b'{"timeperiod": 86400, "\\udfff": 1}', "/\\udfff", id="key"),
        pytest.param(b'{"timeperiod": 86400, "user": ["a", "x\\udc80"]}', "/user/1", id="inside"),
    ],
)
def test_a_lone_surrogate_is_400(api: Api, tenant: SandboxState, body: bytes, pointer: str) -> None:
    status, error = post_raw(api, body)
    assert status == 400
    assert [(p["pointer"], p["rule"]) for p in error["errors"]] == [(pointer, "encoding")]
    assert vendor_requests(tenant) == []


def test_repeated_keys_are_400_not_last_one_wins(api: Api, tenant: SandboxState) -> None:
    body = b'{"timeperiod": 86400, "limit": 1, "limit": 5000, "user": "a@b.c"}'
    status, error = post_raw(api, body)
    assert status == 400
    assert [(p["pointer"], p["rule"]) for p in error["errors"]] == [("/limit", "duplicate")]
    assert vendor_requests(tenant) == []


def test_a_run_request_with_repeated_keys_is_400(api: Api, tenant: SandboxState) -> None:
    with api.client("operator") as client:
        response = client.post(
            "/playbooks/cross-vendor-response/runs",
            content=b'{"inputs": {}, "dry_run": true, "dry_run": false}',
        )
    assert response.status_code == 400
    pointers = [(p["pointer"], p["rule"]) for p in error_of(response)["errors"]]
    assert pointers == [("/dry_run", "duplicate")]
    assert vendor_requests(tenant) == []


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"timeperiod": "x" * 100_000}, id="a long value of the wrong type"),
        pytest.param({"timeperiod": 86400, "query": "q" * 100_000}, id="a string too long"),
        pytest.param({"timeperiod": 86400, "k" * 100_000: 1}, id="a long unknown key"),
    ],
)
def test_messages_quote_at_most_200_characters_of_a_value(
    api: Api, tenant: SandboxState, body: dict[str, Any]
) -> None:
    with api.client() as client:
        response = client.post(f"/actions/{ALERTS}", json=body)
    assert response.status_code == 400
    error = error_of(response)
    for problem in error["errors"]:
        assert len(problem["pointer"]) <= 200
        assert len(problem["message"]) <= 300, problem["message"][:400]
    assert len(error["message"]) < 1000
    assert len(response.content) < 4000
    assert vendor_requests(tenant) == []


def test_two_authorization_headers_are_400(api: Api, tenant: SandboxState) -> None:
    with api.client(key=None) as client:
        response = client.post(
            f"/actions/{ALERTS}",
            json=GOOD_INPUTS,
            headers=[
                ("Authorization", f"Bearer {SECRETS['operator']}"),
                ("Authorization", f"Bearer {SECRETS['reader']}"),
            ],
        )
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["exit_code"]) == ("BadHeaders", 3)
    assert "2 Authorization headers" in error["message"]
    assert vendor_requests(tenant) == []


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize(
    "path", [f"/actions/{ALERTS}/", "/actions/", "/runs/some-run/", "/openapi.json/"]
)
def test_a_trailing_slash_is_our_404_never_a_redirect(
    api: Api, tenant: SandboxState, method: str, path: str
) -> None:
    with api.client(Host="attacker.example") as client:
        response = client.request(method, path, json=GOOD_INPUTS)
    assert response.status_code in (404, 405)
    assert "location" not in response.headers
    assert response.headers["content-type"] == "application/json"
    assert error_of(response)["type"] in ("NotFound", "MethodNotAllowed")
    assert vendor_requests(tenant) == []


def _trickle(base_url: str, key: str, stop: threading.Event, answer: list[bytes]) -> None:
    """A POST whose 40-byte body comes a byte every 0.2 s; its answer goes to `answer`."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = (
            f"POST /actions/{ALERTS} HTTP/1.1\r\nHost: {host}\r\n"
            f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
            "Content-Length: 40\r\n\r\n"
        )
        sock.sendall(head.encode())
        sock.settimeout(0.2)
        received = b""
        for _ in range(40):
            if stop.is_set():
                break
            try:
                sock.sendall(b" ")
                chunk = sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        sock.settimeout(10)
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError:
            pass
        answer.append(received)


def test_a_trickled_body_is_408_and_holds_no_slot_meanwhile(
    make_api: ApiFactory, tenant: SandboxState
) -> None:
    api = make_api(action_timeout=10, body_timeout=1.5)
    stop = threading.Event()
    answer: list[bytes] = []
    slow = threading.Thread(
        target=_trickle, args=(api.base_url, SECRETS["single"], stop, answer), daemon=True
    )
    slow.start()
    try:
        time.sleep(0.5)  # the trickling request is in, reading its body
        # "single" has one slot: the trickling request must not be holding it.
        with api.client("single") as client:
            response = client.post(f"/actions/{ALERTS}", json=GOOD_INPUTS)
        assert response.status_code == 200, response.text
        slow.join(20)
        assert not slow.is_alive()
    finally:
        stop.set()
    [raw] = answer
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b"connection: close" in head.lower()
    assert b'"type":"BodyTimeout"' in body
    # Only the well-formed call reached the vendor.
    assert len(vendor_requests(tenant)) == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/actions/" + "a" * 5000),
        ("GET", "/runs/" + "r" * 5000),
        ("POST", "/playbooks/" + "p" * 5000 + "/runs"),
    ],
)
def test_a_long_name_in_the_path_is_quoted_briefly(
    api: Api, tenant: SandboxState, method: str, path: str
) -> None:
    with api.client("operator") as client:
        response = client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 404
    assert len(error_of(response)["message"]) < 300
    assert vendor_requests(tenant) == []
