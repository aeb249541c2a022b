"""Follow Netskope data-export iterators into a sink: every record exactly once.

One worker thread per stream. Each page goes through the same steps:

    mark in_flight (operation, sink position)  -> checkpoint file
    fetch the page (next / resend / start operation)
    write it to the sink and make it durable
    commit (fingerprint, counts, sink position; in_flight cleared) -> checkpoint file
    wait wait_time (and the rate-limit reset when the endpoint says none remain)

What can go wrong, and what happens:

    failure                                    next request     sink
    sink write fails                           resend           rolled back to the mark
    crash after the mark (any point)           resend on start  rolled back to the mark
    the request may have been processed        resend           untouched
      (error.processed None: 5xx, timeout),
      or was but its page was lost (bad JSON)
    proven not processed (error.processed      same operation   untouched
      False: 429, 503, 409, connect error)
    a final answer (auth, permission, bad      stop the stream with the error
      request: processed, not transient)

The verdict is the error's own (soarpack/http/errormap.py); nothing here looks at
statuses or error classes.

A `resend` answer whose fingerprint equals the last committed page means the request
that failed never moved the cursor: it is dropped and the original operation is sent
again. That is what makes a lost answer cost neither a gap nor a duplicate.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soarpack import errors
from soarpack.http.invocation import CallRecord
from soarpack.ingest.checkpoint import CheckpointStore
from soarpack.ingest.identity import default_index
from soarpack.ingest.lock import StreamLock
from soarpack.ingest.progress import Progress, QuietProgress
from soarpack.ingest.result import StreamResult
from soarpack.ingest.sinks import Sink, SinkError
from soarpack.netskope.dataexport import PAGE_SIZE, Fingerprint, Page, fetch_page
from soarpack.session import Session

log = logging.getLogger(__name__)


@dataclass
class IngestOptions:
    streams: list[str]
    state_dir: Path
    sink_factory: Callable[[str], Sink]
    index: str | None = None
    start: str | int | None = None  # head, tail or epoch seconds; only without a checkpoint
    max_pages: int | None = None
    until_caught_up: bool = False
    page_size: int = PAGE_SIZE
    max_failures: int = 5  # consecutive failed fetches or sink writes before a stream gives up
    backoff_base: float = 1.0
    backoff_max: float = 60.0


class Ingest:
    """Run with `run()`; `stop()` (from a signal handler) ends each stream after its page."""

    def __init__(
        self,
        session: Session,
        options: IngestOptions,
        progress: Progress | None = None,
        wait: Callable[[threading.Event, float], bool] | None = None,
        calls: list[CallRecord] | None = None,
    ) -> None:
        if options.index and len(options.streams) > 1:
            raise errors.ConfigError(
                "An explicit index names one stream's cursor: give one stream, or let each "
                "stream use its default index."
            )
        if not options.streams:
            raise errors.ConfigError("Name at least one stream, e.g. events/page or alerts/dlp.")
        # The ingest action's session: each page is a request of that action.
        self.session = session
        self.options = options
        self.progress = progress or QuietProgress()
        self.stopping = threading.Event()
        # The wait between pages; returns True when asked to stop. Injected by tests.
        self.wait_between = wait if wait is not None else (lambda ev, seconds: ev.wait(seconds))
        self.checkpoints = CheckpointStore(options.state_dir / "checkpoints.json")
        # Where every HTTP call is recorded, if the caller wants them (the action does;
        # the long-running command does not, so its memory stays flat).
        self.calls = calls
        self._calls_lock = threading.Lock()

    def record_calls(self, calls: list[CallRecord]) -> None:
        if self.calls is not None:
            with self._calls_lock:
                self.calls.extend(calls)

    def stop(self) -> None:
        self.stopping.set()

    def first_fetches(self) -> list[tuple[str, str, str]]:
        """(stream, index, operation) of the first page request each stream would send,
        found from the checkpoints without writing anything (a dry run shows them)."""
        planned = []
        for stream in dict.fromkeys(self.options.streams):
            index = self.options.index or default_index(
                self.options.state_dir, stream, create=False
            )
            entry = _checked_entry(self.checkpoints, stream, index) or {}
            operation, _ = _first_operation(entry, self.options.start)
            planned.append((stream, index, operation))
        return planned

    def run(self) -> list[StreamResult]:
        results = [
            StreamResult(s, self.options.index or default_index(self.options.state_dir, s))
            for s in dict.fromkeys(self.options.streams)
        ]
        threads = [
            threading.Thread(target=self._guarded, args=(r,), name=f"ingest-{r.stream}")
            for r in results
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return results

    def _guarded(self, result: StreamResult) -> None:
        try:
            with StreamLock(self.options.state_dir / "locks", result.index, result.stream):
                _Worker(self, result).run()
        except _Stopped:
            pass  # the page in flight stays marked, so the next run resends it
        except errors.SoarpackError as exc:
            result.error, result.stopped = exc, "error"
            self.progress.failed(result)
        except Exception as exc:  # a bug in one stream must not hang the others
            log.exception("ingest worker for %s failed", result.stream)
            result.error = errors.SoarpackError(f"internal error in {result.stream}: {exc!r}")
            result.stopped = "error"


class _Worker:
    def __init__(self, ingest: Ingest, result: StreamResult) -> None:
        self.ingest = ingest
        self.options = ingest.options
        self.result = result
        self.stream = result.stream
        self.store = ingest.checkpoints
        self.failures = 0

    def run(self) -> None:
        sink = self.options.sink_factory(self.stream)
        try:
            self._loop(sink)
        finally:
            sink.close()

    def _loop(self, sink: Sink) -> None:
        entry = self._entry()
        last = Fingerprint.from_dict(entry["last_page"]) if entry.get("last_page") else None
        operation, retrying = self._first_operation(entry, sink)
        while True:
            mark = sink.position()
            self.store.update(
                self.stream,
                in_flight={"operation": operation, "retrying": retrying, "sink": mark},
            )
            calls: list[CallRecord] = []
            try:
                page = fetch_page(
                    self.ingest.session, self.stream, self.result.index, operation, calls
                )
            except errors.CallError as exc:
                if exc.processed is False:
                    # The cursor did not move: ask for the same again.
                    self._failed(exc)
                    continue
                if exc.processed is not None and not exc.transient:
                    raise  # a final answer: asking again gets the same one
                # The cursor may have moved, and that page was lost: ask for it again.
                self._failed(exc)
                retrying = retrying or operation
                operation = "resend"
                self.result.resends += 1
                continue
            finally:
                self.ingest.record_calls(calls)
            if (
                operation == "resend"
                and retrying is not None
                and self._already_committed(page, last)
            ):
                # The failed request never moved the cursor: send it again.
                self.result.duplicates_dropped += page.count
                operation, retrying = retrying, None
                continue
            try:
                sink.write(page.records)
                position = sink.commit()
            except SinkError as exc:
                sink.rollback(mark)
                self.result.sink_failures += 1
                self._failed(exc)
                retrying = retrying or operation
                operation = "resend"
                self.result.resends += 1
                continue
            last = page.fingerprint()
            self.result.pages += 1
            self.result.records += page.count
            self.store.update(
                self.stream,
                in_flight=None,
                last_page=last.to_dict(),
                sink=position,
                pages=int(entry.get("pages", 0)) + self.result.pages,
                records=int(entry.get("records", 0)) + self.result.records,
            )
            self.failures, retrying, operation = 0, None, "next"
            wait = self._wait_after(page)
            self.ingest.progress.page(self.result, page.count, wait)
            if self._should_stop(page):
                return
            del page  # not held through the wait and the next fetch
            if wait > 0 and self.ingest.wait_between(self.ingest.stopping, wait):
                self.result.stopped = "signal"
                return

    def _entry(self) -> dict[str, Any]:
        entry = _checked_entry(self.store, self.stream, self.result.index)
        if entry is None:
            return self.store.update(
                self.stream, index=self.result.index, pages=0, records=0, last_page=None
            )
        return entry

    def _first_operation(self, entry: dict[str, Any], sink: Sink) -> tuple[str, str | None]:
        in_flight = entry.get("in_flight")
        if in_flight:
            # The last run stopped between marking a page and committing it.
            sink.rollback(in_flight["sink"])
            self.result.notes.append(
                f"recovered an uncommitted page ({in_flight['operation']}) with resend"
            )
            self.result.resends += 1
        elif entry.get("last_page") is not None and self.options.start is not None:
            self.result.notes.append("start position ignored: a checkpoint exists")
        return _first_operation(entry, self.options.start)

    def _already_committed(self, page: Page, last: Fingerprint | None) -> bool:
        if last is not None:
            return page.fingerprint() == last
        # Nothing committed yet: an empty resend means the first request never landed (or
        # found the stream empty). Either way send it again: an empty page carries nothing
        # to lose or repeat, and taking it for the answer would end an --until-caught-up
        # run as caught up before it read anything.
        return page.count == 0

    def _failed(self, error: errors.SoarpackError) -> None:
        self.failures += 1
        if self.failures > self.options.max_failures:
            raise error
        retry_after = getattr(error, "retry_after", None)
        delay = (
            float(retry_after)
            if isinstance(retry_after, (int, float))
            else min(self.options.backoff_max, self.options.backoff_base * 2 ** (self.failures - 1))
        )
        self.ingest.progress.retrying(self.result, error, delay)
        if self.ingest.wait_between(self.ingest.stopping, delay):
            self.result.stopped = "signal"
            raise _Stopped()

    def _wait_after(self, page: Page) -> float:
        wait = page.wait_time
        rate = page.rate
        if rate.remaining is not None and rate.remaining <= 0 and rate.reset:
            wait = max(wait, rate.reset)
        return wait

    def _should_stop(self, page: Page) -> bool:
        if self.ingest.stopping.is_set():
            self.result.stopped = "signal"
        elif self.options.max_pages is not None and self.result.pages >= self.options.max_pages:
            self.result.stopped = "max_pages"
        elif self.options.until_caught_up and page.count < self.options.page_size:
            self.result.stopped = "caught_up"
        else:
            return False
        return True


def _checked_entry(store: CheckpointStore, stream: str, index: str) -> dict[str, Any] | None:
    """The stream's checkpoint (None if it has none), refused if it follows another index."""
    entry = store.get(stream)
    if entry is not None and entry.get("index") != index:
        raise errors.ConfigError(
            f"The checkpoint for {stream} follows index {entry.get('index')!r}, not "
            f"{index!r}. Use --index {entry.get('index')} to continue it, or "
            f"a different --state-dir to start a new one."
        )
    return entry


def _first_operation(entry: dict[str, Any], start: str | int | None) -> tuple[str, str | None]:
    """The operation a stream starts with, and the one a first `resend` stands for."""
    in_flight = entry.get("in_flight")
    if in_flight:
        # What the page was fetched for: a plain resend stands for the `next` it repeats.
        retried = in_flight.get("retrying") or in_flight["operation"]
        return "resend", "next" if retried == "resend" else str(retried)
    if entry.get("last_page") is not None:
        return "next", None
    if start is None or start == "head":
        # A fresh index's `next` starts at the oldest record Netskope has.
        return ("next" if start is None else "head"), None
    return str(start), None


class _Stopped(Exception):
    """Raised inside a worker to leave a retry wait when the ingest is stopping."""
