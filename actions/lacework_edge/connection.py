"""lacework_edge.connection.test: log in with the API key and read the account."""

from __future__ import annotations

import time
from typing import Any

from soarpack.engine import Session


def probe(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    account = str(session.client.settings.get("account"))
    # The first call logs in (TokenLogin) before it is sent, so both are exercised.
    session.call_action("lacework_edge.accounts.get", {"name": account})
    return {
        "ok": True,
        "base_url": str(session.client.base_url),
        "account": account,
        "latency_ms": round((time.perf_counter() - started) * 1000, 2),
    }
