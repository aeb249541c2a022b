"""Client-side rate limiting for vendors that document a rate.

A sliding window per key (one key per endpoint): at most `requests` start within
any `per_seconds`. Each caller reserves its start time under the lock and then
sleeps outside it, so concurrent callers queue fairly without holding the lock.

Written here rather than taken from a library: the available ones are async-only or
bring storage back ends; this needs a thread-safe sync limiter with an injectable
clock and sleep so tests run without waiting. It is ~30 lines and fully tested.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        requests: int,
        per_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if requests < 1 or per_seconds <= 0:
            raise ValueError("a rate needs requests >= 1 and per_seconds > 0")
        self.requests = requests
        self.per_seconds = per_seconds
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._starts: dict[str, deque[float]] = {}

    def acquire(self, key: str) -> float:
        """Wait until a request for `key` may start; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            starts = self._starts.setdefault(key, deque())
            while starts and starts[0] <= now - self.per_seconds:
                starts.popleft()
            start_at = now
            if len(starts) >= self.requests:
                start_at = max(now, starts[-self.requests] + self.per_seconds)
            starts.append(start_at)
        wait = start_at - now
        if wait > 0:
            self._sleep(wait)
        return wait
