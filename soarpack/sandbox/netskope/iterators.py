"""Iterator bookkeeping shared by the REST v2 endpoints: cursors, page choice, in-flight guard.

A cursor is what the vendor stores per (index, event type): where `next` continues and
which page `resend` repeats. Page choice is a pure function of the cursor, the operation
and the stream's timeline, so both iterators (data export and Client Status) page the
same way.

An epoch timestamp starts consumption "in one hour batches from this timestamp" (the
vendor's words): a page then holds only records of one hour [W, W + 3600), W = the
epoch plus whole hours, and at most a page of them. `next` continues in that hour
until it is used up, then moves to the next hour that holds a record, so a batch is
empty only when the stream is. `head` and `tail` end the batching; `resend` keeps it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "DATAEXPORT_OPERATIONS",
    "Cursor",
    "CursorStore",
    "InFlight",
    "Operation",
    "Page",
    "Timeline",
    "parse_operation",
    "plan_page",
    "wait_time",
]

# A named operation, or an epoch timestamp in seconds.
Operation = str | int
Page = tuple[int, int]  # [start, stop) positions in a stream
DATAEXPORT_OPERATIONS = ("next", "resend", "head", "tail")
BATCH_SECONDS = 3600  # the span of one batch after an epoch start
# Up to 12 digits: any real epoch in seconds, and never a number too big to compare.
_EPOCH = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class Cursor:
    position: int  # the record `next` serves first
    last: Page  # the page served last: what `resend` serves again
    # After an epoch start: the end (exclusive, epoch seconds) of the current hour batch.
    batch_end: int | None = None


class Timeline(Protocol):
    """A stream as paging sees it: its length and its records' timestamps (ascending)."""

    @property
    def count(self) -> int: ...

    def timestamp(self, position: int) -> int: ...

    def first_at_or_after(self, epoch: int) -> int: ...


class CursorStore:
    """Cursors keyed by (index, stream kind). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursors: dict[tuple[str, str], Cursor] = {}

    def get(self, index: str, kind: str) -> Cursor | None:
        with self._lock:
            return self._cursors.get((index, kind))

    def put(self, index: str, kind: str, cursor: Cursor) -> None:
        with self._lock:
            self._cursors[(index, kind)] = cursor

    def clear(self) -> int:
        with self._lock:
            dropped = len(self._cursors)
            self._cursors.clear()
            return dropped


def parse_operation(raw: str | None, named: Collection[str], epoch: bool = True) -> Operation:
    """The operation in `raw`, or ValueError with a message fit for a 400 answer."""
    if raw in named:
        assert raw is not None
        return raw
    if epoch and raw is not None and _EPOCH.fullmatch(raw):
        return int(raw)
    allowed = ", ".join(named) + (" or an epoch timestamp in seconds" if epoch else "")
    if raw is None or raw == "":
        raise ValueError(f"operation is required: {allowed}")
    raise ValueError(f"Invalid operation {raw!r}; use {allowed}")


def plan_page(
    cursor: Cursor | None,
    operation: Operation,
    *,
    stream: Timeline,
    page_size: int,
    floor: int = 0,
) -> tuple[Cursor | None, Page]:
    """The cursor after `operation` and the page it serves.

    `floor` is the first position still retained (older records are never served).
    `resend` returns the cursor unchanged.
    """
    count = stream.count
    if operation == "resend":
        # Nothing served yet means nothing to send again.
        return cursor, cursor.last if cursor is not None else (floor, floor)
    if operation == "tail":
        return Cursor(count, (count, count)), (count, count)
    if isinstance(operation, int):
        start = min(max(stream.first_at_or_after(operation), floor), count)
        return _hour_batch(stream, start, operation, page_size)
    if operation == "head":
        start = floor
    elif operation == "next":
        start = cursor.position if cursor is not None else floor
    else:
        raise ValueError(f"unknown operation {operation!r}")
    start = min(max(start, floor), count)
    if operation == "next" and cursor is not None and cursor.batch_end is not None:
        return _hour_batch(stream, start, cursor.batch_end - BATCH_SECONDS, page_size)
    page = (start, min(start + page_size, count))
    return Cursor(page[1], page), page


def _hour_batch(stream: Timeline, start: int, window: int, page_size: int) -> tuple[Cursor, Page]:
    """The page from `start` within the hour batch that opens at `window`, or, once
    that hour holds nothing more, within the next hour (whole hours on) that does."""
    if start < stream.count:
        behind = stream.timestamp(start) - window
        if behind >= BATCH_SECONDS:
            window += behind // BATCH_SECONDS * BATCH_SECONDS
    end = window + BATCH_SECONDS
    stop = min(start + page_size, stream.first_at_or_after(end))
    page = (start, max(start, stop))
    return Cursor(page[1], page, batch_end=end), page


def wait_time(served: int, page_size: int, idle_wait: int) -> int:
    """Seconds the vendor suggests waiting: none after a full page, `idle_wait` after an empty one."""
    if served >= page_size:
        return 0
    return round(idle_wait * (1 - served / page_size))


class InFlight:
    """The resources a request is being answered for, to refuse overlapping ones. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._busy: set[tuple[str, ...]] = set()

    def acquire(self, key: tuple[str, ...]) -> bool:
        """Mark `key` busy; False if it already was (the caller must then answer 409)."""
        with self._lock:
            if key in self._busy:
                return False
            self._busy.add(key)
            return True

    def release(self, key: tuple[str, ...]) -> None:
        with self._lock:
            self._busy.discard(key)
