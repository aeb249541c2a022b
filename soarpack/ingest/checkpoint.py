"""Per-stream checkpoints of an ingest, in one JSON file replaced atomically.

For each stream the file records the iterator index, the page last committed (its
fingerprint), where the sink stood after it, running counts, and, while a page is
being fetched and written, an `in_flight` entry: the operation sent and the sink
position before writing. A run that finds `in_flight` set crashed mid-page; it rolls
the sink back to that position and asks Netskope to `resend`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from soarpack import errors

VERSION = 1


class CheckpointStore:
    """Thread-safe: one worker per stream writes its own entry; the file holds them all."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._streams: dict[str, dict[str, Any]] = self._load()

    def get(self, stream: str) -> dict[str, Any] | None:
        with self._lock:
            entry = self._streams.get(stream)
            return json.loads(json.dumps(entry)) if entry is not None else None

    def update(self, stream: str, **changes: Any) -> dict[str, Any]:
        """Apply `changes` to the stream's entry and write the file before returning."""
        with self._lock:
            entry = self._streams.setdefault(stream, {})
            entry.update(changes)
            entry["updated_at"] = round(time.time(), 3)
            self._write()
            return dict(entry)

    def _load(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise errors.ConfigError(
                f"The checkpoint file {self.path} cannot be read ({exc}); "
                "move it aside to start over, which may re-ingest or skip data."
            ) from None
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise errors.ConfigError(f"{self.path} is not a soarpack checkpoint file.")
        streams = data.get("streams")
        return streams if isinstance(streams, dict) else {}

    def _write(self) -> None:
        # Write beside, flush to disk, then rename over: a crash leaves the old or the
        # new file, never half of one.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        payload = json.dumps({"version": VERSION, "streams": self._streams}, indent=1)
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        _fsync_dir(self.path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a directory; the rename is still atomic
    finally:
        os.close(fd)
