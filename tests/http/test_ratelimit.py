"""The client-side sliding-window limiter, on a fake clock."""

from __future__ import annotations

import threading

import pytest

from soarpack.http.ratelimit import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_allows_the_documented_rate_then_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10, 60, clock=clock, sleep=clock.sleep)
    waits = [limiter.acquire("POST /o/api/v3/devices/status_changed") for _ in range(11)]
    assert waits[:10] == [0] * 10
    assert waits[10] == pytest.approx(60)


def test_keys_are_independent() -> None:
    clock = FakeClock()
    limiter = RateLimiter(1, 1, clock=clock, sleep=clock.sleep)
    assert limiter.acquire("a") == 0
    assert limiter.acquire("b") == 0


def test_window_slides() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, 1, clock=clock, sleep=clock.sleep)
    starts = []
    for _ in range(12):
        limiter.acquire("e")
        starts.append(clock.now)
    # never more than 4 starts in any 1-second window
    for i in range(len(starts) - 4):
        assert starts[i + 4] - starts[i] >= 1 - 1e-9


def test_concurrent_callers_queue_without_exceeding_the_rate() -> None:
    lock = threading.Lock()
    clock = FakeClock()
    reserved: list[float] = []

    def sleep(seconds: float) -> None:
        with lock:
            reserved.append(seconds)

    limiter = RateLimiter(2, 1, clock=clock, sleep=sleep)
    threads = [threading.Thread(target=limiter.acquire, args=("k",)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 6 callers at the same instant, 2 per second: waits 1,1,2,2 for the last four
    assert sorted(reserved) == [1, 1, 2, 2]


@pytest.mark.parametrize(
    ("requests", "per"),
    [pytest.param(0, 1, id="zero-requests"), pytest.param(1, 0, id="zero-window")],
)
def test_rejects_nonsense_rates(requests: int, per: float) -> None:
    with pytest.raises(ValueError):
        RateLimiter(requests, per)
