"""One stream's tally of an ingest run: what the runner counts and the progress shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soarpack import errors


@dataclass
class StreamResult:
    stream: str
    index: str
    pages: int = 0
    records: int = 0
    resends: int = 0
    duplicates_dropped: int = 0
    sink_failures: int = 0
    stopped: str = "running"
    error: errors.SoarpackError | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stream": self.stream,
            "index": self.index,
            "pages": self.pages,
            "records": self.records,
            "resends": self.resends,
            "duplicates_dropped": self.duplicates_dropped,
            "sink_failures": self.sink_failures,
            "stopped": self.stopped,
            "error": self.error.to_dict() if self.error else None,
            "notes": self.notes,
        }
