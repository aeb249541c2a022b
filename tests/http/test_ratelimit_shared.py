"""Rate-limit windows beyond one limiter: the file-backed one every process on the machine
shares (ratelimit_file.py), windows keyed by account, and a wait the deadline cannot
afford refused before anything is sent."""

from __future__ import annotations

import multiprocessing
import stat
import time
from pathlib import Path
from typing import Any

import pytest
import respx

from soarpack import errors
from soarpack.config import ConnectionSettings
from soarpack.http.client import ConnectionClient
from soarpack.http.invocation import CallRecord
from soarpack.http.ratelimit import LocalWindows, RateLimiter, WaitTooLong, WindowStore
from soarpack.http.ratelimit_file import FileWindows
from soarpack.manifest import AuthSpec, ConnectionSpec, RateLimitSpec
from soarpack.redact import register_secret
from tests.conftest import BASE_URL, CANARY, Sleeps, transport_for

OTHER_TOKEN = "OTHER-tok-3b81f0c2"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def client_of(
    router: respx.Router,
    sleeps: Sleeps,
    windows: WindowStore,
    *,
    token: str = CANARY,
    rate: RateLimitSpec | None = None,
    **values: Any,
) -> ConnectionClient:
    register_secret(token)
    spec = ConnectionSpec(
        name="vendor",
        title="Vendor",
        description="test vendor",
        settings={},
        auth=AuthSpec(place="header", name="Authorization", setting="token", prefix="Bearer "),
        rate_limit=rate or RateLimitSpec(requests=1, per_seconds=600),
        test_action="vendor.x.test",
    )
    settings = ConnectionSettings("vendor", {"base_url": BASE_URL, **values}, {"token": token})
    return ConnectionClient(
        spec, settings, transport=transport_for(router), sleep=sleeps, windows=windows
    )


def send(client: ConnectionClient) -> list[CallRecord]:
    calls: list[CallRecord] = []
    client.request("POST", "/api/thing", side_effect="read", calls=calls)
    return calls


# -- what the client does with the window --------------------------------------------------


def test_a_wait_past_the_deadline_fails_unsent(router: respx.Router, sleeps: Sleeps) -> None:
    route = router.post("/api/thing").respond(200, json={})
    client = client_of(router, sleeps, LocalWindows(), total_timeout=30)
    send(client)
    calls: list[CallRecord] = []
    with pytest.raises(errors.RateLimitedError) as caught:
        client.request("POST", "/api/thing", side_effect="write", calls=calls)
    assert route.call_count == 1 and calls == [] and sleeps == []
    error = caught.value
    assert error.processed is False and error.transient is False
    assert error.retry_after is not None and 590 < error.retry_after <= 600
    assert "1 requests per 600 s" in str(error) and "total_timeout" in str(error)
    assert error.hint is not None and "other processes or workers" in error.hint


def test_the_step_deadline_bounds_the_wait_too(router: respx.Router, sleeps: Sleeps) -> None:
    route = router.post("/api/thing").respond(200, json={})
    client = client_of(router, sleeps, LocalWindows())  # total_timeout: 300 s by default
    send(client)
    view = client.for_invocation(deadline=time.monotonic() + 60)
    with pytest.raises(errors.RateLimitedError) as caught:
        send(view)
    assert "the step's timeout" in str(caught.value)
    assert route.call_count == 1


def test_one_account_one_window_whoever_calls_it(router: respx.Router, sleeps: Sleeps) -> None:
    route = router.post("/api/thing").respond(200, json={})
    shared = LocalWindows()
    rate = RateLimitSpec(requests=1, per_seconds=60)
    first = client_of(router, sleeps, shared, rate=rate)
    same_account = client_of(router, sleeps, shared, rate=rate)
    other_account = client_of(router, sleeps, shared, rate=rate, token=OTHER_TOKEN)
    send(first)
    send(other_account)
    assert sleeps == []  # another credential counts apart
    send(same_account)
    assert len(sleeps) == 1 and 59 < sleeps[0] <= 60
    assert route.call_count == 3


# -- the file-backed window ----------------------------------------------------------------


def test_two_stores_on_one_folder_share_the_window(tmp_path: Path) -> None:
    clock = FakeClock()
    one, two = FileWindows(tmp_path, clock), FileWindows(tmp_path, clock)
    waits = [(one if n % 2 else two).reserve("k", 10, 60.0, 1e9) for n in range(11)]
    assert waits == [0.0] * 10 + [60.0]
    assert one.reserve("k", 10, 60.0, 30.0) == 60.0  # beyond the bound: not reserved
    clock.now += 60
    assert two.reserve("k", 10, 60.0, 30.0) == 0.0


def _reserve_in_a_process(directory: str) -> float:
    # The same instant for every process, so only the window orders them.
    return FileWindows(Path(directory), lambda: 1_700_000_000.0).reserve("k", 2, 100.0, 1e9)


def test_processes_reserve_one_start_each(tmp_path: Path) -> None:
    with multiprocessing.get_context("fork").Pool(4) as pool:
        waits = pool.map(_reserve_in_a_process, [str(tmp_path)] * 8)
    # Two starts per 100 s: every process got a start of its own, none the same.
    assert sorted(waits) == [0.0, 0.0, 100.0, 100.0, 200.0, 200.0, 300.0, 300.0]


def test_window_files_are_private_and_named_by_hash(tmp_path: Path) -> None:
    windows = FileWindows(tmp_path / "ratelimit", FakeClock())
    key = f"vendor:{CANARY}:1/60:POST /api/thing"  # even a key holding a secret
    windows.reserve(key, 1, 60.0, 1e9)
    [path] = (tmp_path / "ratelimit").iterdir()
    assert path == windows.path_of(key) and CANARY not in path.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_a_damaged_window_file_counts_as_empty(tmp_path: Path) -> None:
    windows = FileWindows(tmp_path, FakeClock())
    windows.path_of("k").write_text('[1e99, "x"', encoding="utf-8")
    assert windows.reserve("k", 1, 60.0, 1e9) == 0.0
    assert windows.reserve("k", 1, 60.0, 1e9) == 60.0


def test_the_limiter_refuses_a_wait_beyond_its_bound() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 60, clock=clock, sleep=lambda s: None)
    assert limiter.acquire("k", max_wait=10) == 0
    with pytest.raises(WaitTooLong) as caught:
        limiter.acquire("k", max_wait=10)
    assert caught.value.wait == 60
    clock.now += 60
    assert limiter.acquire("k", max_wait=10) == 0  # the refusal took no start
