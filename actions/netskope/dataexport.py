"""netskope.dataexport.*: iterator pages and the checkpointed ingest as actions.

The page fetching and the ingest loop live in the engine (soarpack.netskope.dataexport,
soarpack.ingest), shared with `soarpack ingest netskope`; these handlers adapt inputs.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from soarpack import errors
from soarpack.config import state_dir
from soarpack.ingest import Ingest, IngestOptions, JsonLinesSink
from soarpack.netskope.dataexport import fetch_page, planned_fetch
from soarpack.session import Session

# Never read by a real consumer: resend on it cannot move anybody's cursor.
PROBE_INDEX = "soarpack-connection-probe"


def check(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    """The v2 connection test: unlike the shared probe, it reports the endpoint's rate
    limit, read from the page's headers by the iterator protocol."""
    started = time.perf_counter()
    page = fetch_page(session, "events/page", PROBE_INDEX, "resend", session.calls)
    return {
        "ok": True,
        "base_url": str(session.client.base_url),
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
        "rate_limit": page.rate.to_dict(),
    }


def fetch(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    if "event_type" in inputs:
        stream = f"events/{inputs['event_type']}"
    else:
        stream = f"alerts/{inputs['alert_type']}"
    page = fetch_page(session, stream, inputs["index"], inputs["operation"], session.calls)
    return {
        "stream": stream,
        "index": inputs["index"],
        "operation": inputs["operation"],
        "count": page.count,
        "records": page.decoded_records(),
        "wait_time": page.wait_time,
        "rate_limit": page.rate.to_dict(),
    }


def ingest(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    output = Path(inputs["output_dir"])
    rotate = int(inputs["rotate_mb"]) * 1024 * 1024

    def wait(stopping: threading.Event, seconds: float) -> bool:
        session.sleep(seconds)
        return stopping.is_set()

    if inputs.get("index") and len(inputs["streams"]) > 1:
        # A rule across two inputs the schema cannot say: refused as input, nothing sent.
        raise errors.InputError(
            session.action.name,
            [
                errors.FieldError(
                    "/index",
                    "one_stream",
                    "names one stream's cursor: give one "
                    "stream, or leave index out so each stream uses its default",
                )
            ],
        )
    job = Ingest(
        session,
        IngestOptions(
            streams=list(inputs["streams"]),
            state_dir=state_dir(inputs.get("state_dir")),
            sink_factory=lambda stream: JsonLinesSink(output, stream, rotate),
            index=inputs.get("index"),
            start=inputs.get("start"),
            max_pages=inputs["max_pages"],
            until_caught_up=inputs["until_caught_up"],
            page_size=inputs["page_size"],
        ),
        wait=wait,
        calls=session.calls,
    )
    if session.dry_run:
        # Nothing is fetched, written or locked, and no installation id is made: the
        # first stream's first request, as it would be sent, is the dry run's result.
        stream, index, operation = job.first_fetches()[0]
        raise planned_fetch(session, stream, index, operation)
    results = job.run()
    failed = [r for r in results if r.error is not None]
    if failed and failed[0].error is not None:
        # Progress of every stream is checkpointed; the next run continues from there.
        raise failed[0].error
    return {"ok": True, "streams": [r.to_dict() for r in results]}
