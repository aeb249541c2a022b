"""The connection test every connection shares: time the cheapest authenticated read.

A connection's `probe` (manifest.yaml) names that read, an action of the same connection,
and its inputs; the connection's test action declares no code of its own, and the engine
runs this instead. The read is the action's declared request sent once with exactly those
inputs (no defaults, paging or answer check): that the vendor accepted the credential is
all the test asks.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from soarpack import errors
from soarpack.http.client import ConnectionClient
from soarpack.http.request import Reply
from soarpack.manifest import ActionSpec, ConnectionSpec, ProbeSpec


class Session(Protocol):
    """What the probe needs of the engine's per-invocation session (written here, not
    imported: the engine imports this module)."""

    @property
    def client(self) -> ConnectionClient: ...

    def send_action(self, name: str, inputs: Mapping[str, Any]) -> Reply: ...


def probe_of(connection: ConnectionSpec, action: ActionSpec) -> ProbeSpec | None:
    """The probe the action runs: only a connection's test action declaring no request or
    handler of its own, on a connection that declares one."""
    if action.name != connection.test_action or action.http or action.handler:
        return None
    return connection.probe


def run(session: Session, spec: ProbeSpec) -> dict[str, Any]:
    """{ok, base_url, latency_ms} and the settings the probe reports, or the read's error."""
    settings = session.client.settings
    inputs = {**spec.inputs, **{i: settings.get(s) for i, s in spec.setting_inputs.items()}}
    started = time.perf_counter()
    try:
        session.send_action(spec.action, inputs)
    except errors.CallError as error:
        # Some refusals still prove the credential was accepted (MetaAccess: no such page).
        if error.status not in spec.accept_status:
            raise
    out: dict[str, Any] = {"ok": True, "base_url": str(session.client.base_url)}
    out.update({name: str(settings.get(name)) for name in spec.report_settings})
    out["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return out
