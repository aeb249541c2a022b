"""A sliding-window rate limiter: the vendor's "4 requests per second per endpoint".

Each key (a token fingerprint and an endpoint path) keeps the monotonic times of its
requests in the last `window` seconds. A request is allowed while fewer than `limit`
are in the window; a refused one is not counted, so a client that honours Retry-After
gets in as soon as the oldest request leaves the window.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

__all__ = ["RateDecision", "SlidingWindowLimiter"]

# Beyond this many keys, sweep out the idle ones so stray tokens cannot grow the table.
_SWEEP_ABOVE = 1024


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int  # requests left in the window after this one
    reset: int  # whole seconds until the oldest counted request leaves the window
    retry_after: int  # whole seconds to wait before retrying (0 when allowed)

    def headers(self) -> dict[str, str]:
        headers = {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class SlidingWindowLimiter:
    """`limit` requests per `window` seconds per key. Thread-safe; `clock` is injectable."""

    def __init__(
        self, limit: int = 4, window: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[Hashable, deque[float]] = {}

    def hit(self, key: Hashable) -> RateDecision:
        """Count a request for `key` if there is room; say whether it may proceed."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                # Round up: a client that comes back early would only be refused again.
                wait = max(1, math.ceil(hits[0] + self.window - now))
                return RateDecision(False, self.limit, 0, wait, wait)
            hits.append(now)
            reset = math.ceil(hits[0] + self.window - now)
            if len(self._hits) > _SWEEP_ABOVE:
                self._sweep(now)
            return RateDecision(True, self.limit, self.limit - len(hits), reset, 0)

    def unlimited(self) -> RateDecision:
        """The decision reported while limiting is switched off: always the full quota."""
        return RateDecision(True, self.limit, self.limit, 0, 0)

    def _sweep(self, now: float) -> None:
        idle = [
            key for key, hits in self._hits.items() if not hits or hits[-1] <= now - self.window
        ]
        for key in idle:
            del self._hits[key]
