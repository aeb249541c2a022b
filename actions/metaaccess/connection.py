"""metaaccess.connection.test: the cheapest authenticated read, for the SOAR "Test" button."""

from __future__ import annotations

import time
from typing import Any

from soarpack.engine import Session
from soarpack.metaaccess import devices


def probe(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    devices.probe(session)
    return {
        "ok": True,
        "base_url": str(session.client.base_url),
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
