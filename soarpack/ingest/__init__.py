"""Checkpointed ingest of Netskope data-export iterators (`soarpack ingest netskope`).

from soarpack.ingest import Ingest, IngestOptions, JsonLinesSink
"""

from soarpack.ingest.result import StreamResult
from soarpack.ingest.runner import Ingest, IngestOptions
from soarpack.ingest.sinks import JsonLinesSink, Sink, SinkError, StdoutSink

__all__ = [
    "Ingest",
    "IngestOptions",
    "JsonLinesSink",
    "Sink",
    "SinkError",
    "StdoutSink",
    "StreamResult",
]
