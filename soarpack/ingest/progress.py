"""What an ingest shows while it runs: a status line on a terminal, JSON lines otherwise."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Protocol, TextIO

from soarpack.errors import SoarpackError
from soarpack.ingest.result import StreamResult
from soarpack.redact import redact


class Progress(Protocol):
    def page(self, result: StreamResult, count: int, wait: float) -> None: ...

    def retrying(self, result: StreamResult, error: SoarpackError, delay: float) -> None: ...

    def failed(self, result: StreamResult) -> None: ...


class QuietProgress:
    def page(self, result: StreamResult, count: int, wait: float) -> None:
        pass

    def retrying(self, result: StreamResult, error: SoarpackError, delay: float) -> None:
        pass

    def failed(self, result: StreamResult) -> None:
        pass


class JsonLinesProgress:
    """One JSON object per event, for log collectors (the default when not on a terminal)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stderr
        self._lock = threading.Lock()
        self._started = time.monotonic()

    def _emit(self, event: str, result: StreamResult, **fields: object) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        line = {
            "time": round(time.time(), 3),
            "event": event,
            "stream": result.stream,
            "index": result.index,
            "pages": result.pages,
            "records": result.records,
            "records_per_second": round(result.records / elapsed, 1),
            **fields,
        }
        with self._lock:
            self._out.write(redact(json.dumps(line)) + "\n")
            self._out.flush()

    def page(self, result: StreamResult, count: int, wait: float) -> None:
        self._emit("page", result, page_records=count, wait_seconds=wait)

    def retrying(self, result: StreamResult, error: SoarpackError, delay: float) -> None:
        self._emit("retry", result, error=str(error), retry_in_seconds=round(delay, 3))

    def failed(self, result: StreamResult) -> None:
        self._emit("failed", result, error=str(result.error))


class TerminalProgress:
    """One status line per stream, rewritten in place at most a few times a second."""

    def __init__(self, out: TextIO | None = None) -> None:
        self._out = out or sys.stderr
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._lines: dict[str, str] = {}
        self._shown = 0.0

    def _show(self, result: StreamResult, status: str, force: bool = False) -> None:
        elapsed = max(time.monotonic() - self._started, 1e-9)
        self._lines[result.stream] = (
            f"{result.stream}: {result.records:,} records, {result.pages} pages, "
            f"{result.records / elapsed:,.0f}/s, {status}"
        )
        now = time.monotonic()
        if not force and now - self._shown < 0.25:
            return
        self._shown = now
        text = " | ".join(self._lines[k] for k in sorted(self._lines))
        self._out.write("\r\033[K" + redact(text))
        self._out.flush()

    def page(self, result: StreamResult, count: int, wait: float) -> None:
        with self._lock:
            self._show(result, f"waiting {wait:.0f}s" if wait else "reading")

    def retrying(self, result: StreamResult, error: SoarpackError, delay: float) -> None:
        with self._lock:
            self._show(result, f"retry in {delay:.0f}s ({error.kind})", force=True)

    def failed(self, result: StreamResult) -> None:
        with self._lock:
            self._show(result, "FAILED", force=True)

    def finish(self) -> None:
        with self._lock:
            self._out.write("\n")
            self._out.flush()
