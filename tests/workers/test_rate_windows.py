"""Rate-limit windows in Redis (soarpack/workers/ratewindow.py): every worker calling one
account shares its window, on the Redis server's clock.

The engines below stand for two workers: each has its own Redis connection, and they
crawl MetaAccess at the same time. The sandbox's window is shortened (5 requests per
2 s) and the pack copy declares a matching rate (5 per 2.5 s); what is asserted is what
the sandbox received, by its own log.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from soarpack.config import Config
from soarpack.engine import ActionResult, Engine
from soarpack.pack import Pack
from soarpack.sandbox import InProcessTransport, MetaAccessState, SandboxState, create_sandbox_app
from soarpack.sandbox.metaaccess.state import METAACCESS_CLIENT_ID
from soarpack.workers.ratewindow import KEY_PREFIX, RedisWindows
from soarpack.workers.redis_server import RedisServer
from tests.conftest import BASE_URL, CANARY, settings_env
from tests.metaaccess.helpers import ACTION, PATH

pytestmark = pytest.mark.slow

DATABASE = 9  # this module's own, emptied first
SANDBOX_REQUESTS, SANDBOX_WINDOW = 5, 2.0
DECLARED = "rate_limit: {requests: 5, per_seconds: 2.5}"
PAGES = 5


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    found = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + f"/{DATABASE}")
    found.flushdb()
    yield found
    found.close()


def test_a_window_counts_on_the_servers_clock(client: redis.Redis) -> None:
    windows = RedisWindows(client)
    waits = [windows.reserve("k", 3, 1000.0, 5.0) for _ in range(3)]
    assert waits == [0.0, 0.0, 0.0]
    # The fourth start is the first's plus the window; too far for a 5 s bound, so it is
    # refused and not reserved.
    assert 990 < windows.reserve("k", 3, 1000.0, 5.0) <= 1000
    assert client.zcard(KEY_PREFIX + "k") == 3
    assert 990 < windows.reserve("k", 3, 1000.0, 2000.0) <= 1000
    assert client.zcard(KEY_PREFIX + "k") == 4
    assert 0 < client.pttl(KEY_PREFIX + "k") <= 2_001_000
    assert windows.reserve("other", 3, 1000.0, 5.0) == 0.0


@pytest.fixture
def state() -> SandboxState:
    state = SandboxState(token=CANARY)
    state.metaaccess = MetaAccessState(
        client_secret=CANARY, rate_requests=SANDBOX_REQUESTS, rate_window=SANDBOX_WINDOW
    )
    return state


@pytest.fixture
def fast_pack(pack_copy: Path) -> Pack:
    manifest = pack_copy / "manifest.yaml"
    text = manifest.read_text(encoding="utf-8")
    documented = "rate_limit: {requests: 10, per_seconds: 61}"
    assert text.count(documented) == 1
    manifest.write_text(text.replace(documented, DECLARED), encoding="utf-8")
    return Pack.load(pack_copy)


def test_two_workers_share_one_window(
    redis_server: RedisServer, client: redis.Redis, state: SandboxState, fast_pack: Pack
) -> None:
    env = settings_env(
        "metaaccess",
        access_token=None,
        client_id=METAACCESS_CLIENT_ID,
        client_secret=CANARY,
        base_url=f"{BASE_URL}/metaaccess",
    )
    url = redis_server.url.rsplit("/", 1)[0] + f"/{DATABASE}"
    transport = InProcessTransport(create_sandbox_app(state))
    engines = [
        Engine(
            fast_pack,
            Config(env=env),
            transports={"metaaccess": transport},
            windows=RedisWindows.from_url(url),
        )
        for _ in range(2)
    ]
    results: list[ActionResult] = []
    failures: list[BaseException] = []
    inputs: dict[str, Any] = {"all_pages": True, "limit": 1, "max_devices": PAGES}

    def work(engine: Engine) -> None:
        try:
            results.append(engine.invoke(ACTION, inputs))
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(engine,)) for engine in engines]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    finally:
        for engine in engines:
            engine.close()
        transport.close()
    assert not failures
    assert [[c.status for c in r.calls] for r in results] == [[200] * (PAGES + 1)] * 2

    pages = [e for e in state.logged_requests() if e["path"].endswith(PATH)]
    assert len(pages) == 2 * PAGES and {e["status"] for e in pages} == {200}
    received = sorted(e["time"] for e in pages)
    gaps = [
        later - first for first, later in zip(received, received[SANDBOX_REQUESTS:], strict=False)
    ]
    assert min(gaps) >= SANDBOX_WINDOW
    # One window for both, named by the account's fingerprint: no secret in the key.
    [key] = client.keys(KEY_PREFIX + "*")
    assert key.startswith(f"{KEY_PREFIX}metaaccess:".encode())
    assert CANARY.encode() not in key and METAACCESS_CLIENT_ID.encode() not in key
