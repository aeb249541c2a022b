"""Every action that may change something, dry run on the sandbox with each of its
examples: it reaches its plan (or ends with reads only), no request that changes the
tenant reaches a simulator, and no file appears under HOME, the state dirs or the working
directory. A new action is walked by adding it to the manifest: no test code."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from soarpack.sandbox import InProcessTransport, SandboxState
from soarpack.sandbox.lacework_edge.spec import load_operations
from soarpack.sandbox.metaaccess.app import CONNECTION, STATUS_CHANGED
from soarpack.sandbox.shared.declared import exchange_path, request_path
from tests.conftest import CANARY, EngineFactory
from tests.test_conformance import PACK, SANDBOX_APPS, _client_status_precondition

# Where the simulator serves them: the paths the manifest declares.
TOKEN_PATH = exchange_path(CONNECTION)
STATUS_CHANGED_PATH = request_path(STATUS_CHANGED)
# Where the rate-limit windows go, under the `home` fixture's SOARPACK_STATE_DIR.
RATE_WINDOWS = "state/ratelimit"

CHANGING = [
    pytest.param(name, example, id=f"{name}[{index}]")
    for name in sorted(PACK.actions)
    if PACK.actions[name].side_effect != "read"
    for index, example in enumerate(PACK.actions[name].examples)
]
# Vendor endpoints that answer a query sent with POST (the vendor documents say so):
# Netskope REST v1 takes its token and filters in a POST body, MetaAccess its OAuth grant
# and its status-changed search.
QUERIES_BY_POST = {
    "/api/v1/clients",
    "/api/v1/alerts",
    "/api/v1/report",
    TOKEN_PATH,
    STATUS_CHANGED_PATH,
}


def changes_the_tenant(entry: dict[str, Any]) -> bool:
    """Whether a request a simulator logged is one that changes its tenant."""
    if "action" in entry:  # Lacework Edge logs the operation it served; its table knows
        return load_operations()[entry["action"]].writes
    if entry["query"].get("operation") not in (None, "resend"):
        return True  # a Netskope iterator operation other than resend moves the cursor
    return entry["method"] not in ("GET", "HEAD") and entry["path"] not in QUERIES_BY_POST


@pytest.fixture(scope="module")
def tenant() -> SandboxState:
    state = SandboxState(token=CANARY, v2_rate_limit=False)
    state.metaaccess.rate_limit = False
    return state


@pytest.fixture
def transport_to(tenant: SandboxState) -> Iterator[Callable[[str], httpx.BaseTransport]]:
    made: list[InProcessTransport] = []

    def to(connection: str) -> httpx.BaseTransport:
        made.append(InProcessTransport(SANDBOX_APPS[connection](tenant)))
        return made[-1]

    yield to
    for transport in made:
        transport.close()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME, the XDG and soarpack state dirs and the working directory, all under one
    empty folder (relative output paths in examples land there too)."""
    for variable, folder in (
        ("HOME", "home"),
        ("XDG_STATE_HOME", "xdg-state"),
        ("XDG_CONFIG_HOME", "xdg-config"),
        ("XDG_CACHE_HOME", "xdg-cache"),
        ("SOARPACK_STATE_DIR", "state"),
        ("SOARPACK_RUNS_DIR", "runs"),
    ):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    return tmp_path


@pytest.mark.parametrize(("name", "example"), CHANGING)
def test_a_dry_run_sends_no_change_and_writes_no_file(
    name: str,
    example: dict[str, Any],
    tenant: SandboxState,
    transport_to: Callable[[str], httpx.BaseTransport],
    make_engine: EngineFactory,
    home: Path,
) -> None:
    action = PACK.actions[name]
    if name.startswith("netskope.client_status."):
        _client_status_precondition(tenant, name, example["index"])
    engine = make_engine(transport_to(action.connection), action.connection)
    tenant.clear_request_log()

    result = engine.invoke(name, example, dry_run=True)

    received = tenant.logged_requests()
    assert [e for e in received if changes_the_tenant(e)] == []
    assert len(received) == len(result.calls)  # every request went through the client
    if result.dry_run:
        planned = result.data["request"]
        assert planned["method"] and planned["url"].startswith("http")
        assert CANARY not in str(planned)
    else:  # it needed no change for these inputs: only reads, and its real answer
        assert PACK.schemas.errors(action.output, result.data) == []
    # The reads a dry run sends are counted in the account's rate-limit window in the
    # state dir, as every sent request is (the vendor counts them too): that is the one
    # thing it may write.
    written = sorted(p.relative_to(home).as_posix() for p in home.rglob("*"))
    windows = [p for p in written if p.startswith(f"{RATE_WINDOWS}/")]
    assert all(p.endswith(".json") for p in windows)
    assert [p for p in written if p not in ("state", RATE_WINDOWS, *windows)] == ["cwd"]


@pytest.mark.parametrize(
    "name",
    [
        "netskope.dataexport.fetch_page",
        "netskope.client_status.create",
        "lacework_edge.devices.delete",
        "lacework_edge.users.suspend",
    ],
)
def test_the_same_check_sees_the_change_of_a_real_run(
    name: str, make_engine: EngineFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without this, a classifier that saw no change anywhere would pass the walk above.
    monkeypatch.chdir(tmp_path)
    state = SandboxState(token=CANARY, v2_rate_limit=False)
    action = PACK.actions[name]
    transport = InProcessTransport(SANDBOX_APPS[action.connection](state))
    try:
        make_engine(transport, action.connection).invoke(name, action.examples[0])
    finally:
        transport.close()
    assert [e["method"] for e in state.logged_requests() if changes_the_tenant(e)] != []
