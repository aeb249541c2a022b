"""Limits per request and per key: body size, calls per minute, calls at once.

The rate limiter is a sliding window that *refuses* (429 with Retry-After) rather
than waits: a server that queued callers would hold their connections and threads.
soarpack/http/ratelimit.py waits by design (it paces our own calls to a vendor), so
it does not fit here; this is the refusing twin, a few lines under one lock.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import anyio
from starlette.requests import Request

from soarpack.server.errors import BodyTimeout, BodyTooLarge, TooManyRequests
from soarpack.server.settings import Scope

WINDOW_SECONDS = 60.0
# A caller over its concurrency may try again as soon as one of its calls ends.
BUSY_RETRY_AFTER = 1.0


# Where the route keeps the body it read (before taking the key's slot) for the endpoint.
_BODY_KEY = "soarpack.body"


async def read_body(request: Request, limit: int, timeout: float | None = None) -> bytes:
    """The request body, refused with BodyTooLarge as soon as it passes `limit` bytes and
    with BodyTimeout when it has not all arrived `timeout` seconds after the first call.

    A Content-Length over the limit is refused before reading; the count while
    reading covers chunked bodies, which have none. Read once per request: later calls
    return the same bytes (the route reads it before the key's slot is taken, so a
    caller trickling a body never holds a slot meanwhile).
    """
    found = request.scope.get(_BODY_KEY)
    if isinstance(found, bytes):
        return found
    declared = request.headers.get("content-length")
    if (
        declared is not None
        and declared.strip().isascii()
        and declared.strip().isdigit()
        and int(declared) > limit
    ):
        raise BodyTooLarge(f"The request body is {int(declared)} bytes; the limit is {limit}.")
    chunks: list[bytes] = []
    size = 0
    with anyio.move_on_after(timeout) as waited:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"The request body is over the limit of {limit} bytes.")
            chunks.append(chunk)
    if waited.cancelled_caught:
        raise BodyTimeout(
            f"The request body did not arrive within {timeout:g} seconds "
            f"({size} bytes came); send it at once."
        )
    body = b"".join(chunks)
    request.scope[_BODY_KEY] = body
    return body


class KeyLimits:
    """Per-key calls per minute (sliding window) and calls in progress."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._starts: dict[str, deque[float]] = {}
        self._running: dict[str, int] = {}

    @contextmanager
    def slot(self, key_id: str, scope: Scope) -> Iterator[None]:
        """Hold one of the key's slots for a request, or raise TooManyRequests."""
        with self._lock:
            now = self._clock()
            starts = self._starts.setdefault(key_id, deque())
            while starts and starts[0] <= now - WINDOW_SECONDS:
                starts.popleft()
            if len(starts) >= scope.rate_per_minute:
                wait = starts[0] + WINDOW_SECONDS - now
                raise TooManyRequests(
                    f"This API key is over its limit of {scope.rate_per_minute} requests "
                    "per minute.",
                    retry_after=float(max(1, math.ceil(wait))),
                )
            running = self._running.get(key_id, 0)
            if running >= scope.concurrency:
                raise TooManyRequests(
                    f"This API key already has {running} requests in progress "
                    f"(its limit is {scope.concurrency}).",
                    retry_after=BUSY_RETRY_AFTER,
                )
            starts.append(now)
            self._running[key_id] = running + 1
        try:
            yield
        finally:
            with self._lock:
                self._running[key_id] -= 1
