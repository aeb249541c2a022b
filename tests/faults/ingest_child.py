"""The real process of an ingest kill trial: `python -m tests.faults.ingest_child SPEC`.

SPEC (JSON) names a loopback tenant, the trial's state and output directories, its
index, streams and page size, and where this process SIGKILLs itself:

    {"at": "write", "nth": k}    the k-th page: a torn part of it is on disk (durably)
    {"at": "commit", "nth": k}   the k-th page is durable; its checkpoint is not written
    {"at": "wait", "nth": k}     the k-th wait (after a committed page, or a retry backoff)
    null                         no self-kill: the parent kills it mid-request, or it ends

It runs the same Ingest and JsonLinesSink as `soarpack ingest netskope`; only the waits
are shortened (at most 50 ms) so a trial takes well under a second.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.ingest import Ingest, IngestOptions, JsonLinesSink
from soarpack.ingest.sinks import Record, Sink
from soarpack.pack import Pack
from tests.faults.common import REPO, v2_env


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillingSink:
    exactly_once = True

    def __init__(self, inner: JsonLinesSink, kill: dict[str, Any] | None) -> None:
        self.inner, self.kill, self.pages = inner, kill or {}, 0

    def position(self) -> dict[str, Any]:
        return self.inner.position()

    def write(self, records: Sequence[Record]) -> None:
        self.pages += 1
        if self.kill.get("at") == "write" and self.pages == self.kill["nth"]:
            self.inner.write(records[: len(records) // 2])
            self.inner.commit()
            die()
        self.inner.write(records)

    def commit(self) -> dict[str, Any]:
        position = self.inner.commit()
        if self.kill.get("at") == "commit" and self.pages == self.kill["nth"]:
            die()
        return position

    def rollback(self, position: dict[str, Any]) -> None:
        self.inner.rollback(position)

    def close(self) -> None:
        self.inner.close()


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    kill = spec.get("kill")
    waits = 0

    def wait(stopping: threading.Event, seconds: float) -> bool:
        nonlocal waits
        waits += 1
        if kill and kill["at"] == "wait" and waits == kill["nth"]:
            die()
        time.sleep(min(seconds, 0.05))
        return stopping.is_set()

    out = Path(spec["out"])

    def sink(stream: str) -> Sink:
        return KillingSink(JsonLinesSink(out, stream), kill)

    env = v2_env(spec["base_url"], max_attempts=2, read_timeout=0.2, max_retry_wait=60)
    with Engine(
        Pack.load(REPO), Config(env=env), sleep=lambda s: time.sleep(min(s, 0.05))
    ) as engine:
        results = Ingest(
            engine.session("netskope.dataexport.ingest"),
            IngestOptions(
                streams=spec["streams"],
                state_dir=Path(spec["state_dir"]),
                sink_factory=sink,
                index=spec["index"],
                until_caught_up=True,
                page_size=spec["page_size"],
                max_failures=20,
            ),
            wait=wait,
        ).run()
    print(json.dumps([r.to_dict() for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
