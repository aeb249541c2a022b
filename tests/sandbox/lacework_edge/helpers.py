"""Fixtures and helpers for the Lacework Edge simulator tests (this module holds no tests).

`edge` is a small tenant on a `FakeClock`, with two clients: `http` sends a valid JWT on
every request, `raw` sends nothing. Other test modules import what they need from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from soarpack.sandbox import InProcessTransport, SandboxState, create_lacework_edge_app
from soarpack.sandbox.lacework_edge.auth import auth_headers
from soarpack.sandbox.lacework_edge.spec import Operation, load_operations
from soarpack.sandbox.lacework_edge.store import FakeClock, LaceworkEdgeTenant

BASE_URL = "http://sandbox.test"
API_KEY = "lw-api-key-0123456789"
START = 1_700_000_000.0
# The Netskope and MetaAccess halves of the state are not under test here: keep them small.
SMALL: dict[str, Any] = {
    "client_count": 5,
    "alert_count": 5,
    "events_per_type": 5,
    "clientstatus_events": 5,
}


@dataclass
class Edge:
    state: SandboxState
    tenant: LaceworkEdgeTenant
    clock: FakeClock
    http: httpx.Client  # sends a valid JWT
    raw: httpx.Client  # sends no credential

    def jwt_headers(self) -> dict[str, str]:
        return auth_headers(self.tenant)


def make_state(**tenant_settings: Any) -> tuple[SandboxState, FakeClock]:
    clock = FakeClock(START)
    tenant = LaceworkEdgeTenant(clock=clock, **tenant_settings)
    return SandboxState(token=API_KEY, lacework_edge=tenant, **SMALL), clock


def open_edge(state: SandboxState, clock: FakeClock) -> Edge:
    app = create_lacework_edge_app(state)
    tenant = state.lacework_edge
    http = httpx.Client(
        transport=InProcessTransport(app), base_url=BASE_URL, headers=auth_headers(tenant)
    )
    raw = httpx.Client(transport=InProcessTransport(app), base_url=BASE_URL)
    return Edge(state, tenant, clock, http, raw)


@pytest.fixture
def edge() -> Iterator[Edge]:
    found = open_edge(*make_state())
    with found.http, found.raw:
        yield found


def operation(short: str) -> Operation:
    return load_operations()[f"lacework_edge.{short}"]


def ok(response: httpx.Response, short: str, status: int | None = None) -> Any:
    """The JSON of a 2xx answer, checked against the operation's output schema."""
    op = operation(short)
    assert response.status_code == (status or op.success_status), response.text
    body = response.json()
    errors = [e.message for e in Draft202012Validator(op.output_schema).iter_errors(body)]
    assert not errors, errors
    return body


def message(response: httpx.Response, status: int) -> str:
    """The `message` of a vendor error body with `status`."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message"}, body
    text: str = body["message"]
    return text
