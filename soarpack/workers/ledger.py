"""What each task did, in Redis: so a redelivered task never repeats a finished one.

Messages are acknowledged late, so a task can be delivered again: after its worker was
killed, or (visibility timeout too short) while it still runs elsewhere. Per task id:

    soarpack:task:<id>:result    its final wire result (kept RESULT_TTL_SECONDS)
    soarpack:task:<id>:started   set once, by the first delivery that ran it
    soarpack:task:<id>:lease     held while a worker runs it; refreshed every lease/3 s,
                                 so it lapses within `lease` seconds of that worker dying

`acquire` settles a delivery in one atomic step (a Lua script):

    DONE   a result is stored: return it, run nothing
    HELD   another worker runs it right now: wait for its result (or for its lease to lapse)
    FIRST  nobody started it: run it (this delivery now holds the lease)
    AGAIN  it was started and its worker died: reads run again; a write is in doubt
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from soarpack.workers.celeryapp import RESULT_TTL_SECONDS

DONE, HELD, FIRST, AGAIN = "done", "held", "first", "again"
PREFIX = "soarpack:task:"

_ACQUIRE = """
if redis.call('exists', KEYS[1]) == 1 then return 'done' end
if not redis.call('set', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return 'held' end
if redis.call('set', KEYS[2], ARGV[1], 'NX', 'EX', ARGV[3]) then return 'first' end
return 'again'
"""


class TaskLedger:
    """Claims, leases and results of tasks, on one Redis client (thread-safe)."""

    def __init__(self, client: Any, *, holder: str, lease_seconds: float = 10.0) -> None:
        self.client = client
        self.holder = holder
        self.lease_seconds = lease_seconds
        self._acquire = client.register_script(_ACQUIRE)
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    def _keys(self, task_id: str) -> list[str]:
        return [f"{PREFIX}{task_id}:{part}" for part in ("result", "started", "lease")]

    def acquire(self, task_id: str) -> str:
        found = self._acquire(
            keys=self._keys(task_id),
            args=[self.holder, int(self.lease_seconds * 1000), RESULT_TTL_SECONDS],
        )
        state = found.decode() if isinstance(found, bytes) else str(found)
        if state in (FIRST, AGAIN):
            self._hold(task_id)
        return state

    def stored(self, task_id: str) -> dict[str, Any] | None:
        raw = self.client.get(self._keys(task_id)[0])
        if raw is None:
            return None
        data: dict[str, Any] = json.loads(raw)
        return data

    def finish(self, task_id: str, wire: dict[str, Any]) -> None:
        """Store the result, then let go of the lease (in that order: a waiting delivery
        must find the result, not a lapsed lease)."""
        result, _, lease = self._keys(task_id)
        self.client.set(result, json.dumps(wire), ex=RESULT_TTL_SECONDS)
        self.release(task_id)
        self.client.delete(lease)

    def release(self, task_id: str) -> None:
        with self._lock:
            self._held.discard(task_id)

    def wait_while_held(self, task_id: str, poll: float = 0.1) -> None:
        """Until the task's result is stored or its lease lapses."""
        result, _, lease = self._keys(task_id)
        while self.client.exists(lease) and not self.client.exists(result):
            time.sleep(poll)

    # -- leases ------------------------------------------------------------------------
    def _hold(self, task_id: str) -> None:
        with self._lock:
            self._held.add(task_id)
            if self._refresher is None:
                self._refresher = threading.Thread(
                    target=self._refresh, name="soarpack-lease", daemon=True
                )
                self._refresher.start()

    def _refresh(self) -> None:
        # One thread keeps every lease of this worker alive; it dies with the process,
        # which is the point: a killed worker's leases lapse on their own.
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:
                held = list(self._held)
            for task_id in held:
                self.client.pexpire(self._keys(task_id)[2], int(self.lease_seconds * 1000))

    @contextmanager
    def holding(self, task_id: str) -> Iterator[None]:
        """Drop the lease however the block ends (finish() stores the result first)."""
        try:
            yield
        finally:
            if task_id in self._held:
                self.release(task_id)
                self.client.delete(self._keys(task_id)[2])

    def close(self) -> None:
        self._stop.set()
