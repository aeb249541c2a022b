"""The numeric codes the Lacework Edge response actions send, from the pack's one table
(schemas/lacework_edge/assumed_enums.json)."""

from __future__ import annotations

from soarpack.session import Session

_TABLE = "lacework_edge/assumed_enums.json"


def codes(session: Session, enum: str) -> dict[str, int]:
    names: dict[str, int] = session.schema(_TABLE)["$defs"][enum]["x-enum-names"]
    return names


def code(session: Session, enum: str, value: int | str) -> int:
    """A name or a number of `enum`, as the number (inputs were validated against it)."""
    return value if isinstance(value, int) else codes(session, enum)[value]
