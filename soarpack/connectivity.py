"""Connection tests, as the "Test" button of a SOAR platform runs them.

A test runs the connection's declared `test_action` (its cheapest authenticated read)
and reports success, or exactly what is wrong, as data rather than an exception.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from soarpack import errors
from soarpack.exitcodes import OK, exit_code_for

if TYPE_CHECKING:
    from soarpack.engine import Engine

_PROBLEMS: list[tuple[type[errors.SoarpackError], str]] = [
    (errors.ConfigError, "configuration"),
    (errors.PermissionDeniedError, "permission"),
    (errors.AuthenticationError, "authentication"),
    (errors.RequestTimeout, "timeout"),
    (errors.ConnectionFailed, "network"),
    (errors.TransportError, "network"),
    (errors.RateLimitedError, "rate_limited"),
    (errors.CallError, "vendor"),
]


@dataclass(frozen=True)
class ConnectionReport:
    connection: str
    ok: bool
    problem: (
        str | None
    )  # configuration, dns, tls, refused, proxy, timeout, authentication, permission...
    detail: str
    exit_code: int


def check_connection(engine: Engine, name: str) -> ConnectionReport:
    spec = engine.pack.connection(name)
    try:
        result = engine.invoke(spec.test_action, {})
    except errors.SoarpackError as exc:
        problem = next((label for cls, label in _PROBLEMS if isinstance(exc, cls)), "error")
        if isinstance(exc, errors.ConnectionFailed):
            problem = exc.reason
        return ConnectionReport(name, False, problem, f"{problem}: {exc}", exit_code_for(exc))
    latency = result.data.get("latency_ms") if isinstance(result.data, dict) else None
    detail = (
        f"reachable and authenticated ({latency} ms)"
        if latency is not None
        else "reachable and authenticated"
    )
    return ConnectionReport(name, True, None, detail, OK)
