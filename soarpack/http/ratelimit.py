"""Client-side rate limiting for vendors that document a rate: one limiter, three stores.

A sliding window per key: at most `requests` start within any `per_seconds`. A caller
reserves its start time in the window's store and then sleeps outside it, so concurrent
callers queue fairly without holding a lock while they wait. Where the window lives
decides who shares it:

- `LocalWindows` (here): this process only; a client built in code gets it.
- `FileWindows` (ratelimit_file.py): every process on the machine, in the state dir;
  the engine's default, so a burst of CLI invocations waits its turn.
- `RedisWindows` (soarpack/workers/ratewindow.py): every Celery worker, in the broker's Redis.

A key names a connection, its account and one endpoint and rate (`window_key`); the
account's credential is hashed into it, never written in clear.

Written here rather than taken from a library: the available ones are async-only or
bring storage back ends of their own; this needs a sync limiter whose reservation can be
refused when it would outlast the request's deadline, with an injectable clock and sleep.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol


class WindowStore(Protocol):
    """Where the windows live. `reserve` is atomic for everyone sharing the store."""

    def reserve(self, key: str, requests: int, per_seconds: float, max_wait: float) -> float:
        """Reserve the earliest start for `key` that keeps the window's rate, and return the
        seconds from now until it. A start more than `max_wait` away is not reserved (the
        returned wait says how long it would have been)."""
        ...


def next_start(starts: list[float], now: float, requests: int, per_seconds: float) -> float:
    """The earliest start at or after `now` with fewer than `requests` starts (reserved
    ones included) in the `per_seconds` before it. `starts` (ascending) is pruned of those
    that left the window; the caller appends the start if it takes it."""
    while starts and starts[0] <= now - per_seconds:
        del starts[0]
    if len(starts) < requests:
        return now
    return max(now, starts[-requests] + per_seconds)


class LocalWindows:
    """Windows kept in this process's memory; thread-safe."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._starts: dict[str, list[float]] = {}

    def reserve(self, key: str, requests: int, per_seconds: float, max_wait: float) -> float:
        with self._lock:
            now = self._clock()
            starts = self._starts.setdefault(key, [])
            start_at = next_start(starts, now, requests, per_seconds)
            if start_at - now <= max_wait:
                starts.append(start_at)
            return start_at - now


class WaitTooLong(Exception):
    """The window's next start is further away than the caller may wait; nothing reserved."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"the rate limit's next start is {wait:.1f} s away")
        self.wait = wait


class RateLimiter:
    """Paces callers to `requests` per `per_seconds` per key, in `windows` (by default
    this process's memory, on `clock`)."""

    def __init__(
        self,
        requests: int,
        per_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        windows: WindowStore | None = None,
    ) -> None:
        if requests < 1 or per_seconds <= 0:
            raise ValueError("a rate needs requests >= 1 and per_seconds > 0")
        self.requests = requests
        self.per_seconds = per_seconds
        self._sleep = sleep
        self._windows = windows if windows is not None else LocalWindows(clock)

    def acquire(self, key: str, max_wait: float = math.inf) -> float:
        """Wait until a request for `key` may start; returns the seconds waited. WaitTooLong
        (and no start taken) when that would be more than `max_wait`."""
        wait = self._windows.reserve(key, self.requests, self.per_seconds, max_wait)
        if wait > max_wait:
            raise WaitTooLong(wait)
        if wait > 0:
            self._sleep(wait)
        return wait


def account_fingerprint(base_url: str, identity: Iterable[tuple[str, Any]]) -> str:
    """A stable, one-way name of one account of a vendor: its base URL and the settings
    that say who it is (credentials included, which is why it is hashed)."""
    digest = hashlib.sha256(base_url.encode())
    for name, value in sorted(identity):
        digest.update(b"\0" + name.encode() + b"=" + str(value).encode())
    return digest.hexdigest()[:32]


def window_key(connection: str, account: str, rate: tuple[int, float], endpoint: str) -> str:
    """The window of one endpoint of one account at one rate: the same for every process
    and worker that calls it, and free of secrets (`account` is a fingerprint)."""
    requests, per_seconds = rate
    return f"{connection}:{account}:{requests}/{per_seconds:g}:{endpoint}"
