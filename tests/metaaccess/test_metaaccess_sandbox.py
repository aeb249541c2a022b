"""The MetaAccess actions against the simulator, in-process: OAuth, paging to the 413,
token renewal, and the rate limit seen from both sides (on a shared fake clock)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import InProcessTransport, MetaAccessState, SandboxState, create_sandbox_app
from soarpack.sandbox.metaaccess.app import create_metaaccess_app
from soarpack.sandbox.metaaccess.state import METAACCESS_CLIENT_ID
from tests.conftest import BASE_URL, CANARY, settings_env
from tests.metaaccess.helpers import ACTION, PATH, TOKEN_PATH

NOW = 1_700_000_000


class SharedClock:
    """The simulator's clock, moved on by the engine's sleeps: waiting is instant."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> SharedClock:
    return SharedClock()


@pytest.fixture
def state(clock: SharedClock) -> SandboxState:
    state = SandboxState(token=CANARY, now=NOW, client_count=10, alert_count=10)
    state.metaaccess = MetaAccessState(
        seed=7, now=NOW, access_token=CANARY, client_secret=CANARY, clock=clock
    )
    return state


@pytest.fixture
def engine(pack: Pack, state: SandboxState, clock: SharedClock) -> Iterator[Engine]:
    # The whole loopback sandbox, MetaAccess under its /metaaccess prefix.
    transport = InProcessTransport(create_sandbox_app(state))
    env = settings_env(
        "metaaccess",
        access_token=None,
        client_id=METAACCESS_CLIENT_ID,
        client_secret=CANARY,
        base_url=f"{BASE_URL}/metaaccess",
    )
    with Engine(
        pack, Config(env=env), transports={"metaaccess": transport}, sleep=clock.sleep
    ) as built:
        yield built
    transport.close()


def paths(state: SandboxState) -> list[tuple[str, int]]:
    return [(e["path"], e["status"]) for e in state.logged_requests()]


def test_all_pages_with_an_oauth_token(engine: Engine, state: SandboxState) -> None:
    result = engine.invoke(ACTION, {"all_pages": True, "limit": 50, "verbose": 1})
    expected = state.metaaccess.changed_within(86400)
    data = result.data
    assert data["count"] == len(expected)
    assert sorted(d["device_id"] for d in data["monitored_devices"]) == sorted(
        d.device_id for d in expected if not d.deleted
    )
    assert data["deleted_count"] == sum(d.deleted for d in expected) > 0
    pages = -(-len(expected) // 50)
    assert data["paging"] == {
        "first_page": 1,
        "last_page": pages,
        "pages": pages,
        "end_reached": True,
        "beyond_last_page": False,
        "truncated": False,
    }
    assert [c.status for c in result.calls] == [200] * (1 + pages) + [413]
    assert result.calls[0].url.endswith(f"/metaaccess{TOKEN_PATH}")
    assert state.metaaccess.issued_count() == 1


def test_single_page_beyond_the_last(engine: Engine) -> None:
    data = engine.invoke(ACTION, {"page": 50, "limit": 50}).data
    assert data["count"] == 0 and data["paging"]["beyond_last_page"] is True


def test_a_crawl_never_draws_a_429(engine: Engine, state: SandboxState, clock: SharedClock) -> None:
    # ~76 devices, 3 a page: about 26 pages, far more than 10 a minute.
    data = engine.invoke(ACTION, {"all_pages": True, "limit": 3}).data
    assert data["paging"]["end_reached"] and data["paging"]["pages"] > 20
    statuses = [status for path, status in paths(state) if path.endswith(PATH)]
    assert 429 not in statuses
    assert len([s for s in clock.slept if s > 1]) >= 2  # the client spaced them itself


def test_a_429_from_another_consumer_is_waited_out(
    pack: Pack, state: SandboxState, clock: SharedClock
) -> None:
    app = create_metaaccess_app(state)
    # Another consumer of the same (configured) token spends the minute's 10 requests.
    with httpx.Client(transport=InProcessTransport(app), base_url=BASE_URL) as other:
        for _ in range(10):
            other.post(PATH, params={"access_token": CANARY}, json={"limit": 1})
            clock.now += 1
    # access_token: the same CANARY; waits up to the server's minute are allowed
    env = settings_env("metaaccess", max_retry_wait=60)
    transport = InProcessTransport(app)
    with Engine(
        pack, Config(env=env), transports={"metaaccess": transport}, sleep=clock.sleep
    ) as engine:
        result = engine.invoke(ACTION, {"limit": 5})
    assert [c.status for c in result.calls] == [429, 200]
    assert clock.slept == [50.0]  # the server's Retry-After, not a guess
    assert result.data["count"] == 5


def test_a_revoked_token_is_renewed_once(engine: Engine, state: SandboxState) -> None:
    engine.invoke(ACTION, {"limit": 1})
    state.metaaccess.revoke_issued_tokens()
    result = engine.invoke(ACTION, {"limit": 1})
    assert [c.status for c in result.calls] == [401, 200, 200]
    assert result.calls[1].url.endswith(TOKEN_PATH)


def test_a_token_the_server_deems_expired_is_renewed(
    engine: Engine, state: SandboxState, clock: SharedClock
) -> None:
    # The server's clock runs ahead of the client's: the token expires early for us.
    engine.invoke(ACTION, {"limit": 1})
    clock.now += 3600
    result = engine.invoke(ACTION, {"limit": 1})
    assert [c.status for c in result.calls] == [401, 200, 200]
    assert state.metaaccess.issued_count() == 2


def test_the_connection_test(engine: Engine) -> None:
    result = engine.invoke("metaaccess.connection.test", {})
    assert result.data["ok"] is True and result.data["base_url"].endswith("/metaaccess")
