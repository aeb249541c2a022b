"""The record streams behind the REST v2 data-export iterator, served from byte templates.

A stream ("events/page", "alerts/dlp", ...) is an ordered list of records that exists
only as arithmetic plus a small pool of pre-rendered bodies. Record k of a stream has

- `_id`: 24 hex characters, `stream_tag(kind)` (the first 8 hex of the SHA-256 of the
  kind) followed by k as 16 zero-padded hex digits. `record_position` and
  `record_kind` read them back, so a test can check a run of pages for gaps and
  repeats without keeping the records.
- `timestamp`: epoch seconds. The `events_per_type` records present at creation are
  spread evenly over the `WINDOW_SECONDS` before `now` (strictly increasing while the
  window has more seconds than the stream has records); appended records follow one
  per second from `now` on.
- `_insertion_epoch_timestamp`: the timestamp plus a small per-body delay.
- every other field from body k % POOL_SIZE of the pool (see `event_records.py`).

Why templates: a full page is 10,000 records, about 10 MB of JSON. `json.dumps` of 10k
dicts per request would cost a large part of a second of CPU; splicing three numbers
into pre-rendered bytes costs a few milliseconds, so a paging test stays fast.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import random
import threading
from collections.abc import Sequence

from soarpack.sandbox.netskope.event_records import (
    DATAEXPORT_ALERT_TYPES,
    DATAEXPORT_EVENT_TYPES,
    Person,
    make_record,
    people_from_clients,
)
from soarpack.sandbox.netskope.seeded import DAY, Record

__all__ = [
    "CLIENTSTATUS_KIND",
    "STREAM_KINDS",
    "EventStream",
    "EventStreams",
    "record_id",
    "record_kind",
    "record_position",
    "stream_tag",
]

STREAM_KINDS: tuple[str, ...] = tuple(f"events/{name}" for name in DATAEXPORT_EVENT_TYPES) + tuple(
    f"alerts/{name}" for name in DATAEXPORT_ALERT_TYPES
)
# The Client Status iterator's events use the same _id scheme under this kind.
CLIENTSTATUS_KIND = "clientstatus"
WINDOW_SECONDS = 3 * DAY
POOL_SIZE = 128
# One body in AWKWARD_EVERY carries the awkward strings (see event_records.py).
AWKWARD_EVERY = 16
_SEPARATOR = b", "
_HEAD = _SEPARATOR + b'{"_id": "%s%016x", "timestamp": %d, "_insertion_epoch_timestamp": %d, '


def stream_tag(kind: str) -> str:
    """The 8 hex characters that open the `_id` of every record of stream `kind`."""
    return hashlib.sha256(kind.encode()).hexdigest()[:8]


_KIND_BY_TAG = {stream_tag(kind): kind for kind in (*STREAM_KINDS, CLIENTSTATUS_KIND)}
# Ids must say which stream they are from; a tag collision would make that ambiguous.
assert len(_KIND_BY_TAG) == len(STREAM_KINDS) + 1


def record_id(kind: str, position: int) -> str:
    """The `_id` of record `position` (0-based) of stream `kind`."""
    return f"{stream_tag(kind)}{position:016x}"


def record_position(record_id: str) -> int:
    """The 0-based position in its stream of the record with this `_id`."""
    if len(record_id) != 24:
        raise ValueError(f"a sandbox record _id has 24 hex characters, got {record_id!r}")
    return int(record_id[8:], 16)


def record_kind(record_id: str) -> str | None:
    """The stream (e.g. "events/page") a sandbox `_id` belongs to, None if it is not one."""
    return _KIND_BY_TAG.get(record_id[:8]) if len(record_id) == 24 else None


class EventStream:
    """One stream's records: their count, timestamps and rendering. Thread-safe."""

    def __init__(
        self, kind: str, initial: int, now: int, seed: int, people: Sequence[Person]
    ) -> None:
        self.kind = kind
        self.initial = initial
        self.now = now
        self._tag = stream_tag(kind).encode()
        self._seed = seed
        self._people = people
        self._appended = 0
        self._lock = threading.Lock()
        self._pool: tuple[list[int], list[bytes]] | None = None

    @property
    def count(self) -> int:
        """How many records the stream holds now (appended ones included)."""
        with self._lock:
            return self.initial + self._appended

    def append(self, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError("count must be a non-negative integer")
        with self._lock:
            self._appended += count

    def timestamp(self, position: int) -> int:
        if position < self.initial:
            return self.now - WINDOW_SECONDS + position * WINDOW_SECONDS // self.initial
        return self.now + (position - self.initial)

    def first_at_or_after(self, epoch: int) -> int:
        """The position of the first record whose timestamp is >= `epoch` (count if none)."""
        return bisect.bisect_left(range(self.count), epoch, key=self.timestamp)

    def render(self, start: int, stop: int) -> bytes:
        """Records [start, stop) as JSON objects joined by ", " (no brackets)."""
        return b"".join(self.render_parts(start, stop))

    def render_parts(self, start: int, stop: int) -> list[bytes]:
        """`render`'s bytes as pieces to join once, so a 10 MB page is copied only once.

        The pieces alternate: a small head with the spliced fields (and the separator),
        then a pool body, shared rather than copied.
        """
        stop = max(start, stop)
        delays, bodies = self._templates()
        initial, now, tag = self.initial, self.now, self._tag
        base = now - WINDOW_SECONDS
        split = min(max(start, initial), stop)
        # Two comprehensions rather than a per-record branch: this loop is the hot path.
        heads = [
            _HEAD % (tag, k, t, t + delays[k % POOL_SIZE])
            for k in range(start, split)
            for t in (base + k * WINDOW_SECONDS // initial,)
        ]
        heads += [
            _HEAD % (tag, k, t, t + delays[k % POOL_SIZE])
            for k in range(split, stop)
            for t in (now + k - initial,)
        ]
        parts: list[bytes] = [b""] * (2 * len(heads))
        parts[0::2] = heads
        parts[1::2] = [bodies[k % POOL_SIZE] for k in range(start, stop)]
        if parts:
            parts[0] = parts[0][len(_SEPARATOR) :]
        return parts

    def record(self, position: int) -> Record:
        """Record `position` as a dict (slow path, for tests and debugging)."""
        parsed: Record = json.loads(self.render(position, position + 1))
        return parsed

    def _templates(self) -> tuple[list[int], list[bytes]]:
        # Built on first use: most sandbox tenants never serve most streams.
        with self._lock:
            if self._pool is None:
                rng = random.Random(f"{self._seed}:{self.kind}")
                delays: list[int] = []
                bodies: list[bytes] = []
                for slot in range(POOL_SIZE):
                    person = rng.choice(self._people)
                    body = make_record(self.kind, rng, person, awkward=slot % AWKWARD_EVERY == 5)
                    text = json.dumps(body, ensure_ascii=False)
                    # Drop the opening brace: _HEAD supplies it with the spliced fields.
                    bodies.append(text[1:].encode())
                    delays.append(rng.randint(1, 30))
                self._pool = (delays, bodies)
            return self._pool


class EventStreams:
    """Every data-export stream of one tenant, keyed by kind ("events/page", ...)."""

    def __init__(self, seed: int, now: int, per_type: int, clients: Sequence[Record]) -> None:
        if isinstance(per_type, bool) or not isinstance(per_type, int) or per_type < 0:
            raise ValueError("events_per_type must be a non-negative integer")
        people = people_from_clients(clients, random.Random(f"{seed}:people"))
        self._streams = {
            kind: EventStream(kind, per_type, now, seed, people) for kind in STREAM_KINDS
        }

    def __getitem__(self, kind: str) -> EventStream:
        try:
            return self._streams[kind]
        except KeyError:
            raise ValueError(
                f"unknown stream {kind!r}; streams are: {', '.join(STREAM_KINDS)}"
            ) from None

    def counts(self) -> dict[str, int]:
        return {kind: stream.count for kind, stream in self._streams.items()}
