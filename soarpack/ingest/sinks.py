"""Where ingested records go. A sink takes whole pages of raw JSON records.

The ingest's exactly-once promise rests on three sink operations: `position()` before
writing a page, `commit()` to make it durable, and `rollback(position)` to erase a
page written by a run that crashed before committing its checkpoint. A sink that
cannot roll back (stdout) gives at-least-once delivery across crashes instead, and
says so through `exactly_once`.

Add a sink by implementing `Sink`; nothing else in the ingest needs to change.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from soarpack import errors

Record = bytes | bytearray | memoryview | Any  # raw JSON documents (msgspec.Raw is bytes-like)
_NEWLINE = b"\n"
# The pieces one writev may take (1024 on Linux and macOS; POSIX promises 16).
_IOV_MAX = max(16, os.sysconf("SC_IOV_MAX"))


class SinkError(errors.SoarpackError):
    """Raised when a sink cannot store a page (disk full, closed pipe...)."""

    kind = "sink"


class Sink(Protocol):
    exactly_once: bool

    def position(self) -> dict[str, Any]: ...

    def write(self, records: Sequence[Record]) -> None: ...

    def commit(self) -> dict[str, Any]: ...

    def rollback(self, position: dict[str, Any]) -> None: ...

    def close(self) -> None: ...


class JsonLinesSink:
    """One JSON record per line in `<directory>/<stream>-<NNNNNN>.jsonl`.

    A new file is started before a page once the current one has reached
    `rotate_bytes`, so a file may exceed it by at most one page.
    """

    exactly_once = True

    def __init__(self, directory: Path, stream: str, rotate_bytes: int = 256 * 1024 * 1024):
        self.directory = directory
        self.prefix = re.sub(r"[^A-Za-z0-9_.-]", "_", stream)
        self.rotate_bytes = rotate_bytes
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SinkError(
                f"Cannot create the output directory {directory}: {exc.strerror}."
            ) from None
        existing = self._sequence_numbers()
        self._seq = existing[-1] if existing else 1
        self._handle: BinaryIO | None = None

    def _path(self, seq: int) -> Path:
        return self.directory / f"{self.prefix}-{seq:06d}.jsonl"

    def _sequence_numbers(self) -> list[int]:
        pattern = re.compile(rf"^{re.escape(self.prefix)}-(\d{{6}})\.jsonl$")
        found = (pattern.match(p.name) for p in self.directory.iterdir())
        return sorted(int(m.group(1)) for m in found if m)

    def _size(self, seq: int) -> int:
        try:
            return self._path(seq).stat().st_size
        except FileNotFoundError:
            return 0

    def position(self) -> dict[str, Any]:
        return {
            "file": self._path(self._seq).name,
            "seq": self._seq,
            "offset": self._size(self._seq),
        }

    def write(self, records: Sequence[Record]) -> None:
        if not records:
            return
        if self._size(self._seq) >= self.rotate_bytes:
            self._close_handle()
            self._seq += 1
        try:
            if self._handle is None:
                # Kept open across pages; closed on rotation, rollback and close().
                # Unbuffered: each page goes to the file in _write_lines' system calls.
                self._handle = open(self._path(self._seq), "ab", buffering=0)  # noqa: SIM115
            _write_lines(self._handle.fileno(), records)
        except OSError as exc:
            raise SinkError(f"Writing to {self._path(self._seq)} failed: {exc.strerror}.") from None

    def commit(self) -> dict[str, Any]:
        if self._handle is not None:
            try:
                self._handle.flush()
                os.fsync(self._handle.fileno())
            except OSError as exc:
                raise SinkError(
                    f"Flushing {self._path(self._seq)} failed: {exc.strerror}."
                ) from None
        return self.position()

    def rollback(self, position: dict[str, Any]) -> None:
        """Erase everything written after `position` (a page of a run that did not commit)."""
        self._close_handle()
        seq, offset = int(position["seq"]), int(position["offset"])
        for later in self._sequence_numbers():
            if later > seq:
                self._path(later).unlink()
        path = self._path(seq)
        if path.exists() and path.stat().st_size > offset:
            with open(path, "r+b") as handle:
                handle.truncate(offset)
                os.fsync(handle.fileno())
        self._seq = seq

    def close(self) -> None:
        self._close_handle()

    def _close_handle(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _write_lines(fd: int, records: Sequence[Record]) -> None:
    """Each record and a line break, written straight from the page's own bytes with
    writev (IOV_MAX pieces a call): joining a 10 MB page first copied it once more."""
    pieces: list[Record] = [_NEWLINE] * (2 * len(records))
    pieces[0::2] = records
    for start in range(0, len(pieces), _IOV_MAX):
        batch = pieces[start : start + _IOV_MAX]
        written = os.writev(fd, batch)
        expected = sum(map(len, batch))
        if written < expected:  # a signal or a full disk: the rest, or the error, follows
            rest = memoryview(b"".join(batch))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]


class StdoutSink:
    """Records to standard output, one per line: at-least-once across crashes."""

    exactly_once = False

    def __init__(self, stream: BinaryIO | None = None) -> None:
        self._out = stream or sys.stdout.buffer

    def position(self) -> dict[str, Any]:
        return {}

    def write(self, records: Sequence[Record]) -> None:
        if not records:
            return
        try:
            self._out.write(b"\n".join(records) + b"\n")
        except (OSError, ValueError) as exc:
            raise SinkError(f"Writing to standard output failed: {exc}.") from None

    def commit(self) -> dict[str, Any]:
        try:
            self._out.flush()
        except (OSError, ValueError) as exc:
            raise SinkError(f"Flushing standard output failed: {exc}.") from None
        return {}

    def rollback(self, position: dict[str, Any]) -> None:
        """Lines already printed cannot be taken back."""

    def close(self) -> None:
        self.commit()
