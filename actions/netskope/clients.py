"""netskope.clients.list: the declared request does the call and paging; this decodes codes."""

from __future__ import annotations

from typing import Any

from soarpack.codes import decode, mappings_from_schema
from soarpack.session import Session


def decode_codes(
    session: Session, inputs: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    mappings = mappings_from_schema(session.schema("netskope/codes.json"))
    result["clients"] = [decode(client, mappings) for client in result["clients"]]
    return result
