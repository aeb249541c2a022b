"""Suspend and reactivate Lacework Edge users (proto.EnumStatus on the user record), and
the narrow profile update that cannot touch their status."""

from __future__ import annotations

from typing import Any

from soarpack.session import Session


def suspend(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _set_status(session, inputs["user_uuid"], "SUSPENDED")


def reactivate(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _set_status(session, inputs["user_uuid"], "ACTIVE")


def update_profile(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    # The input schema admits only display_name and location; they go as they are.
    answer: dict[str, Any] = session.call_action(
        "lacework_edge.users.update", {"uuid": inputs["uuid"], "user": inputs["user"]}
    )
    return answer


def _set_status(session: Session, user_uuid: str, status: str) -> dict[str, Any]:
    before = session.call_action("lacework_edge.users.get", {"uuid": user_uuid})
    session.call_action(
        "lacework_edge.users.update", {"uuid": user_uuid, "user": {"status": status}}
    )
    # Read back: the answer to an update may be partial; what the tenant now holds counts.
    after = session.call_action("lacework_edge.users.get", {"uuid": user_uuid})
    return {
        "user": after,
        "status_name": after.get("status_name"),
        "previous_status_name": before.get("status_name"),
    }
