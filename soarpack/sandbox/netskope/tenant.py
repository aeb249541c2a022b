"""What a simulated Netskope tenant remembers: its tokens, its data, faults and requests.

`NetskopeTenant` is the base of `SandboxState` (`soarpack/sandbox/state.py`), which adds
the other vendors' tenants beside it; Netskope's endpoints see only this part.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import Any

from soarpack.sandbox.netskope.alerts import generate_alerts
from soarpack.sandbox.netskope.clients import generate_clients
from soarpack.sandbox.netskope.clientstatus import ClientStatusEvents, ClientStatusService
from soarpack.sandbox.netskope.events import CLIENTSTATUS_KIND, EventStreams
from soarpack.sandbox.netskope.iterators import CursorStore, InFlight
from soarpack.sandbox.netskope.seeded import Record
from soarpack.sandbox.shared.faults import FaultSwitches
from soarpack.sandbox.shared.ratelimit import SlidingWindowLimiter
from soarpack.sandbox.shared.requestlog import REDACTED, RequestLog

__all__ = ["V2_RATE_LIMIT_PER_SECOND", "NetskopeTenant"]

V2_RATE_LIMIT_PER_SECOND = 4


@dataclass
class NetskopeTenant(RequestLog):
    """A simulated tenant. Data is generated from `seed` and `now` when it is created.

    `now` is the tenant's fixed clock: time filters (timeperiod) are measured from it,
    so a test with a pinned `now` gets the same answer on any day. Left as None it is
    the wall-clock time at creation.

    `auth_failure_status` is the HTTP status of a bad-token answer: 403 by default,
    200 to reproduce v1's habit of reporting errors inside a 200.

    REST v2 (see `dataexport.py` and `clientstatus_api.py`): `v2_token` is the
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
    clients: list[Record] = field(init=False, repr=False)
    alerts: list[Record] = field(init=False, repr=False)
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
