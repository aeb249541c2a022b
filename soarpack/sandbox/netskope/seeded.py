"""What the seeded Netskope generators share: the record type and draws from one rng.

Everything is drawn from the `random.Random` passed in (never the global one), and
from `now`, so the same seed and the same `now` give byte-identical data: a failing
test can be replayed, and a demo shows the same hosts every time.
"""

from __future__ import annotations

import random
import time
from typing import Any

__all__ = ["DAY", "Record", "guid", "hex_string", "quota", "resolve_now"]

Record = dict[str, Any]

DAY = 86_400


def hex_string(rng: random.Random, length: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(length))


def guid(rng: random.Random) -> str:
    raw = hex_string(rng, 32).upper()
    return f"{raw[:8]}-{raw[8:12]}-{raw[12:16]}-{raw[16:20]}-{raw[20:]}"


def quota(rng: random.Random, n: int, share: float) -> list[bool]:
    """Exactly round(n * share) True values, shuffled.

    Exact counts (rather than a coin per item) keep shares stable for any seed, so
    tests can rely on them without being tuned to one seed.
    """
    hits = round(n * share)
    flags = [True] * hits + [False] * (n - hits)
    rng.shuffle(flags)
    return flags


def resolve_now(now: int | None) -> int:
    return int(time.time()) if now is None else int(now)
