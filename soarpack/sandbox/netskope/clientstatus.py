"""The Client Status iterator's data: one iterator per tenant over Client Status events.

Model only; `clientstatus_api.py` serves it over HTTP. The events are what Netskope
Clients report (installs, upgrades, tunnel up/down, user or admin enable/disable),
generated from the seed and the tenant's own clients over the `HISTORY_SECONDS` before
`now`. The vendor keeps 7 days (`RETENTION_SECONDS`), so the oldest generated events
are past retention and are never served; they exist so a consumer's "nothing older
than a week" assumption is actually exercised.

Each event is one CSV row (`CSV_FIELDS`), rendered once with the csv module so values
holding commas and quotes (some reasons and hostnames do) are quoted properly. `_id`
follows the data-export scheme (see `events.py`) under the kind "clientstatus".

An iterator is "creating" until it has been polled `ready_after` times, then "ready";
fetching from it before that is refused.
"""

from __future__ import annotations

import bisect
import csv
import io
import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from soarpack.sandbox.netskope.event_records import Person, people_from_clients
from soarpack.sandbox.netskope.events import CLIENTSTATUS_KIND, record_id
from soarpack.sandbox.netskope.iterators import Cursor
from soarpack.sandbox.netskope.seeded import DAY, Record

__all__ = [
    "CSV_FIELDS",
    "RETENTION_SECONDS",
    "ClientStatusEvents",
    "ClientStatusIterator",
    "ClientStatusService",
    "IteratorExists",
]

CSV_FIELDS = (
    "_id",
    "timestamp",
    "device_id",
    "hostname",
    "user",
    "os",
    "os_version",
    "client_version",
    "event",
    "status",
    "actor",
    "reason",
)
RETENTION_SECONDS = 7 * DAY
HISTORY_SECONDS = 9 * DAY
# Every AWKWARD_EVERY-th event reports from a device whose name needs CSV quoting.
AWKWARD_EVERY = 50
_AWKWARD_HOSTNAME = "Zoë's MacBook Pro, 14\" (M3)"

# (event, status, actor, reason): drawn as a whole so each row tells a coherent story.
_STORIES: list[tuple[str, str, str, str]] = [
    ("Tunnel Up", "Enabled", "System", ""),
    ("Tunnel Up", "Enabled", "System", "Reconnected after network change"),
    ("Tunnel Down", "Enabled", "System", 'Captive portal on Wi-Fi "Guest, 5GHz"'),
    ("Tunnel Down", "Enabled", "System", "Proxy authentication failed, retrying"),
    ("User Disabled", "Disabled", "User", "Disabled from the system tray"),
    ("User Enabled", "Enabled", "User", ""),
    ("Admin Disabled", "Disabled", "Admin", 'Disabled by admin, ticket "IT-4521"'),
    ("Admin Enabled", "Enabled", "Admin", ""),
    ("Installed", "Enabled", "Admin", "Installed by MDM"),
    ("Upgraded", "Enabled", "System", "Upgraded to 101.1.1.1211"),
    ("Uninstalled", "Uninstalled", "User", "Removed via Add/Remove Programs"),
    ("Installation Failure", "Disabled", "System", 'MSI error 1603: "fatal error", rolled back'),
]
_STORY_WEIGHTS = [30, 10, 8, 6, 4, 4, 2, 2, 3, 5, 1, 1]


def _csv_line(values: Sequence[object]) -> str:
    out = io.StringIO()
    # RFC 4180 line ends; quote only where needed, as most CSV producers do.
    csv.writer(out, lineterminator="\r\n").writerow(values)
    return out.getvalue()


HEADER_LINE = _csv_line(CSV_FIELDS)


class ClientStatusEvents:
    """The tenant's Client Status events, oldest first. Thread-safe; rendered on first use."""

    def __init__(self, seed: int, now: int, count: int, clients: Sequence[Record]) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("clientstatus_events must be a non-negative integer")
        self.now = now
        self.initial = count
        self._seed = seed
        self._clients = clients
        self._lock = threading.Lock()
        self._timestamps: list[int] = []
        self._lines: list[str] = []
        self._rng: random.Random | None = None
        self._people: list[Person] = []

    @property
    def count(self) -> int:
        with self._lock:
            self._ensure()
            return len(self._lines)

    def timestamp(self, position: int) -> int:
        with self._lock:
            self._ensure()
            return self._timestamps[position]

    def first_at_or_after(self, epoch: int) -> int:
        with self._lock:
            self._ensure()
            return bisect.bisect_left(self._timestamps, epoch)

    def append(self, count: int) -> None:
        """`count` new events, reported one second apart from `now` on."""
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("count must be a non-negative integer")
        with self._lock:
            self._ensure()
            for _ in range(count):
                position = len(self._lines)
                self._add(position, self.now + position - self.initial)

    def csv(self, start: int, stop: int) -> str:
        """The header row and the rows of events [start, stop)."""
        with self._lock:
            self._ensure()
            return HEADER_LINE + "".join(self._lines[start:stop])

    def _ensure(self) -> None:
        if self._rng is not None:
            return
        self._rng = random.Random(f"{self._seed}:{CLIENTSTATUS_KIND}")
        self._people = people_from_clients(self._clients, self._rng)
        for position in range(self.initial):
            # Spread evenly, so the share past retention is the same for any seed.
            self._add(
                position, self.now - HISTORY_SECONDS + position * HISTORY_SECONDS // self.initial
            )

    def _add(self, position: int, timestamp: int) -> None:
        assert self._rng is not None
        rng = self._rng
        person = rng.choice(self._people)
        event, status, actor, reason = rng.choices(_STORIES, weights=_STORY_WEIGHTS)[0]
        hostname = _AWKWARD_HOSTNAME if position % AWKWARD_EVERY == 7 else person.hostname
        self._timestamps.append(timestamp)
        self._lines.append(
            _csv_line(
                [
                    record_id(CLIENTSTATUS_KIND, position),
                    timestamp,
                    person.device_id,
                    hostname,
                    person.email,
                    person.os,
                    person.os_version,
                    person.client_version,
                    event,
                    status,
                    actor,
                    reason,
                ]
            )
        )


@dataclass
class ClientStatusIterator:
    index: str
    ready_after: int
    polls: int = 0
    cursor: Cursor | None = None

    @property
    def ready(self) -> bool:
        return self.polls >= self.ready_after

    def poll(self) -> str:
        """The status a status check reports, counting the check towards readiness."""
        status = "ready" if self.ready else "creating"
        self.polls += 1
        return status


class IteratorExists(Exception):
    """A second iterator was asked for; the tenant allows one. Holds the existing index."""

    def __init__(self, index: str) -> None:
        super().__init__(index)
        self.index = index


class ClientStatusService:
    """The tenant's single Client Status iterator slot and its events. Thread-safe."""

    def __init__(self, events: ClientStatusEvents) -> None:
        self.events = events
        self._lock = threading.Lock()
        self._iterator: ClientStatusIterator | None = None

    def create(self, index: str, ready_after: int) -> ClientStatusIterator:
        with self._lock:
            if self._iterator is not None:
                raise IteratorExists(self._iterator.index)
            self._iterator = ClientStatusIterator(index, ready_after)
            return self._iterator

    def find(self, index: str) -> ClientStatusIterator | None:
        with self._lock:
            found = self._iterator
            return found if found is not None and found.index == index else None

    def delete(self, index: str) -> bool:
        with self._lock:
            if self._iterator is None or self._iterator.index != index:
                return False
            self._iterator = None
            return True
