"""metaaccess.devices.status_changed: the declared request, paged until MetaAccess's 413.

soarpack.metaaccess.paging knows how MetaAccess pages; this shapes what it read into the
action's output.
"""

from __future__ import annotations

from typing import Any

from soarpack.metaaccess.paging import crawl
from soarpack.session import Session


def status_changed(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    found = crawl(session, inputs)
    return {
        "monitored_devices": found.monitored,
        "deleted_devices": found.deleted,
        "count": found.count,
        "monitored_count": len(found.monitored),
        "deleted_count": len(found.deleted),
        "paging": {
            "first_page": found.first_page,
            "last_page": found.last_page,
            "pages": found.pages,
            "end_reached": found.end_reached,
            "beyond_last_page": found.beyond_last_page,
            "truncated": found.truncated,
        },
    }
