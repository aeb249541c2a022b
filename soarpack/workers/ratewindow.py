"""Rate-limit windows shared by every Celery worker: kept in the broker's Redis.

Workers on several machines call one vendor account; each counting on its own would
let N workers send N times the documented rate. One Lua script reads the window,
reserves the next start and writes it back, atomically on the Redis server, and it
takes "now" from the server's clock (TIME), so workers whose clocks disagree still
agree on the window.

A window is a sorted set of reserved start times (a unique member each), at the key
`soarpack:ratelimit:<window key>`; the key names the account by fingerprint only
(soarpack.http.ratelimit.window_key), and expires once its last start has left the window.
"""

from __future__ import annotations

import uuid
from typing import Any

import redis

KEY_PREFIX = "soarpack:ratelimit:"
# Lua has no infinity literal that survives ARGV; no wait is ever this long.
_NO_BOUND = 1e12

# KEYS[1] the window; ARGV requests, per_seconds, max_wait, a unique member.
# Returns the wait in seconds, as a string (Redis would cut a Lua number to an integer).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local requests = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - per)
local count = redis.call('ZCARD', KEYS[1])
local start = now
if count >= requests then
  local nth = redis.call('ZRANGE', KEYS[1], count - requests, count - requests, 'WITHSCORES')
  start = math.max(now, tonumber(nth[2]) + per)
end
local wait = start - now
if wait <= max_wait then
  redis.call('ZADD', KEYS[1], start, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil((wait + per) * 1000) + 1000)
end
return tostring(wait)
"""


class RedisWindows:
    """Windows in the Redis that `client` reaches (the broker's, for workers)."""

    def __init__(self, client: redis.Redis) -> None:
        self._script: Any = client.register_script(_RESERVE)

    @classmethod
    def from_url(cls, url: str) -> RedisWindows:
        return cls(redis.Redis.from_url(url))

    def reserve(self, key: str, requests: int, per_seconds: float, max_wait: float) -> float:
        bound = min(max_wait, _NO_BOUND)
        member = uuid.uuid4().hex
        found = self._script(
            keys=[KEY_PREFIX + key], args=[requests, repr(float(per_seconds)), repr(bound), member]
        )
        return float(found.decode() if isinstance(found, bytes) else found)
