"""Everything one sandbox tenant remembers: its token, its data, faults and requests."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from soarpack.sandbox.clientstatus import ClientStatusEvents, ClientStatusService
from soarpack.sandbox.data import Record, generate_alerts, generate_clients
from soarpack.sandbox.events import CLIENTSTATUS_KIND, EventStreams
from soarpack.sandbox.faults import FaultSwitches
from soarpack.sandbox.iterators import CursorStore, InFlight
from soarpack.sandbox.lacework_edge_store import LaceworkEdgeTenant
from soarpack.sandbox.metaaccess_state import MetaAccessState
from soarpack.sandbox.ratelimit import SlidingWindowLimiter

REDACTED = "***"
V2_RATE_LIMIT_PER_SECOND = 4


@dataclass
class SandboxState:
    """A simulated tenant. Data is generated from `seed` and `now` when it is created.

    `now` is the tenant's fixed clock: time filters (timeperiod) are measured from it,
    so a test with a pinned `now` gets the same answer on any day. Left as None it is
    the wall-clock time at creation.

    `auth_failure_status` is the HTTP status of a bad-token answer: 403 by default,
    200 to reproduce v1's habit of reporting errors inside a 200.

    REST v2 (see `netskope_v2.py` and `clientstatus_api.py`): `v2_token` is the
    `Netskope-Api-Token` (None: the same as `token`); each data-export stream starts
    with `events_per_type` records; a page holds at most `page_size`; `v2_idle_wait`
    is the wait_time of an empty page; `v2_rate_limit` switches the 4-per-second limit
    on; a Client Status iterator is ready after `clientstatus_ready_after` status polls
    and the tenant holds `clientstatus_events` Client Status events. `page_size`,
    `v2_idle_wait`, `v2_rate_limit` and `v2_token` are read on every request and
    `clientstatus_ready_after` when an iterator is created, so a test may change them
    on a live tenant; the two counts are fixed at creation.
    """

    token: str
    seed: int = 7
    now: int | None = None
    client_count: int = 300
    alert_count: int = 600
    auth_failure_status: int = 403
    faults: FaultSwitches = field(default_factory=FaultSwitches)
    v2_token: str | None = None
    events_per_type: int = 25_000
    page_size: int = 10_000
    v2_rate_limit: bool = True
    v2_idle_wait: int = 30
    clientstatus_ready_after: int = 2
    clientstatus_events: int = 2_500
    # Lacework Edge (`lacework_edge.py`): settings, records and faults of its own; its
    # `api_key` and `seed` default to `token` and `seed` here.
    lacework_edge: LaceworkEdgeTenant = field(default_factory=LaceworkEdgeTenant, compare=False)
    clients: list[Record] = field(init=False, repr=False)
    alerts: list[Record] = field(init=False, repr=False)
    request_log: list[dict[str, Any]] = field(init=False, repr=False, default_factory=list)
    # REST v2 server-side memory: the tenant's, not an app's, so it survives serving
    # the same state from another app (in-process and over loopback alike).
    streams: EventStreams = field(init=False, repr=False, compare=False)
    clientstatus: ClientStatusService = field(init=False, repr=False, compare=False)
    cursors: CursorStore = field(init=False, repr=False, compare=False, default_factory=CursorStore)
    in_flight: InFlight = field(init=False, repr=False, compare=False, default_factory=InFlight)
    rate_limiter: SlidingWindowLimiter = field(
        init=False,
        repr=False,
        compare=False,
        default_factory=lambda: SlidingWindowLimiter(limit=V2_RATE_LIMIT_PER_SECOND, window=1.0),
    )
    # OPSWAT MetaAccess (`metaaccess.py`): its own account, from the same seed and `now`;
    # `token` is both its provisioned access token and its OAuth client secret. Replace
    # it with a MetaAccessState of your own to change counts, switches or the clock.
    metaaccess: MetaAccessState = field(init=False, repr=False, compare=False)
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
        # v2 records come from their own seeded generators (rendered on first use), so
        # adding v2 left the v1 data above byte-identical.
        self.streams = EventStreams(self.seed, self.now, self.events_per_type, self.clients)
        events = ClientStatusEvents(self.seed, self.now, self.clientstatus_events, self.clients)
        self.clientstatus = ClientStatusService(events)
        self.metaaccess = MetaAccessState(
            seed=self.seed, now=self.now, access_token=self.token, client_secret=self.token
        )

    @property
    def clock(self) -> int:
        """`now` as an int (it is always set once the state exists)."""
        assert self.now is not None
        return self.now

    @property
    def api_v2_token(self) -> str:
        """The token v2 requests must carry in `Netskope-Api-Token`."""
        return self.token if self.v2_token is None else self.v2_token

    def append_events(self, kind: str, count: int) -> None:
        """Make `count` new records arrive at the end of stream `kind`.

        `kind` is a data-export stream ("events/page", "alerts/dlp", ...; see
        `events.STREAM_KINDS`) or "clientstatus". New records are stamped from `now` on,
        so an iterator positioned with `tail` sees exactly these on its next `next`.
        """
        if kind == CLIENTSTATUS_KIND:
            self.clientstatus.events.append(count)
        else:
            self.streams[kind].append(count)

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
        """`params` with the tokens (under their own key or anywhere else) masked."""
        return {key: self._mask(key, value) for key, value in params.items()}

    def _mask(self, key: str, value: Any) -> Any:
        if key == "token":
            return REDACTED
        if isinstance(value, str):
            # Longest first, so a token that contains the other is masked whole.
            for secret in sorted({self.token, self.api_v2_token}, key=len, reverse=True):
                if secret and secret in value:
                    value = value.replace(secret, REDACTED)
        return value
