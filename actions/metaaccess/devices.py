"""metaaccess.devices.status_changed: the declared request, paged until MetaAccess's 413."""

from __future__ import annotations

from typing import Any

from soarpack.engine import Session
from soarpack.metaaccess import devices


def status_changed(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return devices.status_changed(session, inputs)
