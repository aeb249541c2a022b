"""netskope.connection.test: the cheapest authenticated read, for the SOAR "Test" button."""

from __future__ import annotations

import time
from typing import Any

from soarpack.engine import Session


def probe(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    # One client record: authenticated, and as small as a v1 answer gets.
    session.request("POST", "/api/v1/clients", json_body={"limit": 1})
    return {
        "ok": True,
        "base_url": str(session.client.base_url),
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
