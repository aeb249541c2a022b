"""Rate-limit windows shared by every process on this machine: one small file per window
in the state dir, read and rewritten under an exclusive flock.

Each CLI invocation is a new process with a new token, but the vendor counts the
account's requests: six `soarpack invoke` runs in two seconds must share one window.
flock, as ingest/lock.py uses, is released by the kernel if the holder dies, so a killed
process never leaves the window locked. The lock is held only to read, reserve and
write; the wait for the reserved start happens outside it.

Start times are wall-clock seconds (time.time): monotonic clocks are not guaranteed to
agree between processes. File names are a hash of the window's key; the key itself
holds only a fingerprint of the account (ratelimit.window_key), never a credential.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from soarpack.http.ratelimit import next_start


class FileWindows:
    """Windows in `directory` (created, private to the user, on first use)."""

    def __init__(self, directory: Path, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self._clock = clock

    def path_of(self, key: str) -> Path:
        return self.directory / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")

    def reserve(self, key: str, requests: int, per_seconds: float, max_wait: float) -> float:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path_of(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            starts = _read(fd)
            now = self._clock()
            start_at = next_start(starts, now, requests, per_seconds)
            if start_at - now <= max_wait:
                starts.append(start_at)
            # Written even when nothing was reserved: the pruned list is smaller.
            data = json.dumps(starts).encode()
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, data)
            return start_at - now
        finally:
            os.close(fd)  # releases the flock


def _read(fd: int) -> list[float]:
    """The window's start times; an unreadable file (cut short by a crash mid-write,
    or edited) counts as an empty window rather than stopping every caller."""
    raw = b""
    while chunk := os.read(fd, 65536):
        raw += chunk
    try:
        found = json.loads(raw) if raw else []
    except ValueError:
        return []
    if not isinstance(found, list):
        return []
    return sorted(float(t) for t in found if isinstance(t, (int, float)))
