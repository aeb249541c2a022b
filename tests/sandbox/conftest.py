"""Shared fixtures: a pinned-clock sandbox tenant and a sync client wired to it in-process."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app
from tests.sandbox.sandbox_helpers import BASE_URL, NOW, TOKEN


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(token=TOKEN, now=NOW)


@pytest.fixture
def client(state: SandboxState) -> Iterator[httpx.Client]:
    transport = InProcessTransport(create_netskope_app(state))
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        yield http
