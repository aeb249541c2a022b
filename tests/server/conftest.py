"""The action server on real loopback HTTP, with the sandbox (also over loopback) behind it.

`api(...)` starts a server with the given `server:` settings and returns a client
factory; every response any test receives is kept, and at teardown none of them may
contain the vendor credential (CANARY) in its body or headers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import RunningServer, SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import connection_env
from soarpack.server import Service, build_service, create_app
from soarpack.server.auth import hash_key, new_key
from tests.conftest import CANARY

# Raw keys for the tests, and the scope each is configured with.
KEYS: dict[str, dict[str, Any]] = {
    "reader": {},
    "netskope-reader": {"actions": ["netskope.*"]},
    "operator": {
        "side_effects": ["read", "write", "destructive"],
        "playbooks": ["*"],
        "approve": True,
    },
    "runner-no-approve": {
        "side_effects": ["read", "write", "destructive"],
        "playbooks": ["*"],
    },
    "read-runner": {"playbooks": ["*"]},
    # One team's approver: it may decide (and see) only runs of the team-* playbooks.
    "team-approver": {"playbooks": ["team-*"], "approve": True},
    "tight": {"rate_per_minute": 2},
    "single": {"concurrency": 1},
}
SECRETS = {name: new_key() for name in KEYS}


def sandbox_env(base_url: str) -> dict[str, str]:
    """Every connection pointed at the sandbox, its credential the canary."""
    # One attempt: a forced 429 or 500 reaches the caller at once.
    return {**connection_env(base_url, CANARY), "SOARPACK_NETSKOPE_MAX_ATTEMPTS": "1"}


def server_section(runs: Path, **settings: Any) -> dict[str, Any]:
    keys = [
        {"id": name, "sha256": hash_key(SECRETS[name]), **scope} for name, scope in KEYS.items()
    ]
    return {"keys": keys, "runs_dir": str(runs), "shutdown_grace": 5, **settings}


@dataclass
class Seen:
    """Every response the tests got, read in full."""

    responses: list[httpx.Response] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.responses.append(response)

    def leaks(self, secret: str) -> list[str]:
        found = []
        for response in self.responses:
            headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
            if secret in response.text or secret in headers:
                found.append(f"{response.request.method} {response.request.url}")
        return found


@pytest.fixture(scope="session")
def sandbox() -> Iterator[tuple[SandboxState, RunningServer]]:
    state = SandboxState(token=CANARY)
    with start_server(create_sandbox_app(state)) as server:
        yield state, server


@pytest.fixture
def tenant(sandbox: tuple[SandboxState, RunningServer]) -> Iterator[SandboxState]:
    """The sandbox's state, with no leftover faults and an empty request log."""
    state = sandbox[0]
    state.faults.clear()
    state.clear_request_log()
    yield state
    state.faults.clear()


@pytest.fixture
def seen() -> Iterator[Seen]:
    responses = Seen()
    yield responses
    assert responses.leaks(CANARY) == []


@dataclass
class Api:
    base_url: str
    seen: Seen
    runs: Path
    service: Service

    def client(self, key: str | None = "reader", **headers: str) -> httpx.Client:
        if key is not None:
            headers["Authorization"] = f"Bearer {SECRETS.get(key, key)}"
        return httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=30,
            event_hooks={"response": [self.seen]},
        )

    def wait_for_run(self, run_id: str, *statuses: str, timeout: float = 20) -> dict[str, Any]:
        with self.client("operator") as client:
            deadline = time.monotonic() + timeout
            while True:
                shown: dict[str, Any] = client.get(f"/runs/{run_id}").json()
                if shown["status"] in statuses or time.monotonic() > deadline:
                    return shown
                time.sleep(0.05)


ApiFactory = Callable[..., Api]


@pytest.fixture
def make_api(
    pack: Pack,
    sandbox: tuple[SandboxState, RunningServer],
    tenant: SandboxState,
    seen: Seen,
    tmp_path: Path,
) -> Iterator[ApiFactory]:
    """Start the action server with these `server:` settings (and the repository's pack,
    or `with_pack`); stopped after the test."""
    started: list[tuple[Service, RunningServer]] = []

    def factory(
        allow_anonymous: bool = False, with_pack: Pack | None = None, **settings: Any
    ) -> Api:
        runs = tmp_path / "runs"
        path = tmp_path / f"config-{len(started)}.yaml"
        path.write_text(yaml.safe_dump({"server": server_section(runs, **settings)}))
        config = Config(path, env=sandbox_env(sandbox[1].base_url))
        served = with_pack or pack
        service = build_service(
            served, config, engine=Engine(served, config), allow_anonymous=allow_anonymous
        )
        server = start_server(create_app(service))
        started.append((service, server))
        return Api(server.base_url, seen, runs, service)

    yield factory
    for service, server in started:
        server.stop()
        service.close()
        # Runs a test left going (past their grace) keep the engine until they pause.
        deadline = time.monotonic() + 20
        while service.runs.active() and time.monotonic() < deadline:
            time.sleep(0.05)
        service.engine.close()


@pytest.fixture
def api(make_api: ApiFactory) -> Api:
    return make_api(action_timeout=10)


@pytest.fixture
def access_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Access log records, caught on the logger itself (the CLI may stop propagation)."""
    logger = logging.getLogger("soarpack.server.access")
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.INFO)
    # Not also through the root logger, where caplog listens too: each line once.
    logger.propagate = False
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.setLevel(level)
    logger.propagate = propagate
