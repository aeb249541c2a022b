"""Serving the sandbox: real loopback HTTP, the loopback-only rule, the in-process bridge."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from soarpack.sandbox import (
    InProcessTransport,
    SandboxState,
    create_netskope_app,
    start_server,
)
from tests.sandbox.sandbox_helpers import BASE_URL, TOKEN, call, data


def test_served_over_loopback_http(state: SandboxState) -> None:
    app = create_netskope_app(state)
    with start_server(app) as server:
        assert server.base_url == f"http://127.0.0.1:{server.port}"
        assert server.port > 0
        with httpx.Client(base_url=server.base_url, timeout=5) as http:
            assert len(data(call(http, "clients", limit=5))) == 5
            faulted = http.post("/_sandbox/faults", json={"fault": {"status": 429}})
            assert faulted.status_code == 200
            assert call(http, "clients").headers["Retry-After"] == "1"
            log = http.get("/_sandbox/requests").json()["requests"]
    assert [entry["status"] for entry in log] == [200, 429]
    # Stopped means stopped: the port no longer accepts connections.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass


def test_stop_is_idempotent(state: SandboxState) -> None:
    server = start_server(create_netskope_app(state), host="localhost")
    assert server.base_url.startswith("http://127.0.0.1:")
    server.stop()
    server.stop()


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("0.0.0.0", id="any-ipv4"),
        pytest.param("::", id="any-ipv6"),
        pytest.param("192.168.1.10", id="lan"),
        pytest.param("8.8.8.8", id="public"),
        pytest.param("example.com", id="hostname"),
        pytest.param("", id="empty"),
    ],
)
def test_non_loopback_hosts_are_refused(state: SandboxState, host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        start_server(create_netskope_app(state), host=host)


def test_other_loopback_addresses_are_accepted(state: SandboxState) -> None:
    with start_server(create_netskope_app(state), host="127.0.0.2") as server:
        assert server.base_url.startswith("http://127.0.0.2:")


def test_in_process_transport_is_safe_across_threads(state: SandboxState) -> None:
    transport = InProcessTransport(create_netskope_app(state))
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:

        def page(skip: int) -> list[str]:
            return [r["_id"] for r in data(call(http, "clients", limit=10, skip=skip))]

        with ThreadPoolExecutor(max_workers=8) as pool:
            pages = list(pool.map(page, range(0, 300, 10)))
    assert [i for p in pages for i in p] == [c["_id"] for c in state.clients]
    assert len(state.logged_requests()) == 30


def test_closed_transport_refuses_requests(state: SandboxState) -> None:
    transport = InProcessTransport(create_netskope_app(state))
    http = httpx.Client(transport=transport, base_url=BASE_URL)
    http.close()
    with pytest.raises(RuntimeError, match="closed"):
        transport.handle_request(httpx.Request("POST", f"{BASE_URL}/api/v1/clients"))


def test_transport_without_requests_closes_cleanly(state: SandboxState) -> None:
    InProcessTransport(create_netskope_app(state)).close()


def test_admin_refuses_non_loopback_callers(state: SandboxState) -> None:
    transport = InProcessTransport(create_netskope_app(state), client=("10.1.2.3", 40000))
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        assert http.get("/_sandbox/requests").status_code == 404
        assert http.post("/_sandbox/faults", json={"fault": {"status": 500}}).status_code == 404
        # The vendor API itself still answers.
        assert http.post("/api/v1/clients", json={"token": TOKEN}).status_code == 200
