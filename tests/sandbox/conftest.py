"""Shared fixtures: a pinned-clock sandbox tenant and a sync client wired to it in-process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app
from tests.sandbox.sandbox_helpers import BASE_URL, NOW, TOKEN, V2_HEADERS, V2_SMALL


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(token=TOKEN, now=NOW)


@pytest.fixture
def client(state: SandboxState) -> Iterator[httpx.Client]:
    transport = InProcessTransport(create_netskope_app(state))
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        yield http


@pytest.fixture
def v2_state() -> SandboxState:
    """A small v2 tenant: 25 records a stream, 10 a page, no rate limit (see V2_SMALL)."""
    return SandboxState(token=TOKEN, now=NOW, **V2_SMALL)


@pytest.fixture
def v2(v2_state: SandboxState) -> Iterator[httpx.Client]:
    """A client of `v2_state` that sends the v2 token header on every request."""
    transport = InProcessTransport(create_netskope_app(v2_state))
    with httpx.Client(transport=transport, base_url=BASE_URL, headers=V2_HEADERS) as http:
        yield http
