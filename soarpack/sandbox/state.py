"""Everything one sandbox tenant remembers: its token, its data, faults and requests."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from soarpack.sandbox.data import Record, generate_alerts, generate_clients
from soarpack.sandbox.faults import FaultSwitches

REDACTED = "***"


@dataclass
class SandboxState:
    """A simulated tenant. Data is generated from `seed` and `now` when it is created.

    `now` is the tenant's fixed clock: time filters (timeperiod) are measured from it,
    so a test with a pinned `now` gets the same answer on any day. Left as None it is
    the wall-clock time at creation.

    `auth_failure_status` is the HTTP status of a bad-token answer: 403 by default,
    200 to reproduce v1's habit of reporting errors inside a 200.
    """

    token: str
    seed: int = 7
    now: int | None = None
    client_count: int = 300
    alert_count: int = 600
    auth_failure_status: int = 403
    faults: FaultSwitches = field(default_factory=FaultSwitches)
    clients: list[Record] = field(init=False, repr=False)
    alerts: list[Record] = field(init=False, repr=False)
    request_log: list[dict[str, Any]] = field(init=False, repr=False, default_factory=list)
    # The log is appended from the server's loop and read from test threads.
    _log_lock: threading.Lock = field(
        init=False, repr=False, compare=False, default_factory=threading.Lock
    )

    def __post_init__(self) -> None:
        if self.now is None:
            self.now = int(time.time())
        rng = random.Random(self.seed)
        self.clients = generate_clients(rng, self.client_count, now=self.now)
        self.alerts = generate_alerts(rng, self.alert_count, now=self.now, clients=self.clients)

    @property
    def clock(self) -> int:
        """`now` as an int (it is always set once the state exists)."""
        assert self.now is not None
        return self.now

    def log_request(self, entry: dict[str, Any]) -> None:
        with self._log_lock:
            self.request_log.append(entry)

    def logged_requests(self) -> list[dict[str, Any]]:
        """A copy of the request log, oldest first."""
        with self._log_lock:
            return [dict(entry) for entry in self.request_log]

    def clear_request_log(self) -> int:
        with self._log_lock:
            dropped = len(self.request_log)
            self.request_log.clear()
            return dropped

    def redact(self, params: dict[str, Any]) -> dict[str, Any]:
        """`params` with the token (under its own key or anywhere else) masked."""
        return {key: self._mask(key, value) for key, value in params.items()}

    def _mask(self, key: str, value: Any) -> Any:
        if key == "token":
            return REDACTED
        if self.token and isinstance(value, str) and self.token in value:
            return value.replace(self.token, REDACTED)
        return value
