"""Decode vendor numeric codes to names, keeping the raw code.

A code mapping is declared once as data in the pack's schemas (`x-code-names`, and
`x-paths` for where the field occurs, `[]` meaning "each item of this list"). Each
decoded field gets a `<field>_name` sibling; a code missing from the mapping gets
`null` there and is listed in the record's `unknown_codes`, never dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

UNKNOWN_KEY = "unknown_codes"


def mappings_from_schema(schema: Mapping[str, Any]) -> list[tuple[str, dict[str, str]]]:
    """(path, code -> name) for every `$defs` entry that declares `x-code-names`."""
    found: list[tuple[str, dict[str, str]]] = []
    for definition in schema.get("$defs", {}).values():
        names = definition.get("x-code-names")
        if isinstance(names, dict):
            for path in definition.get("x-paths", []):
                found.append((path, {str(k): str(v) for k, v in names.items()}))
    return found


def decode(record: Mapping[str, Any], mappings: list[tuple[str, dict[str, str]]]) -> dict[str, Any]:
    """A copy of `record` with names beside codes and unknown codes flagged."""
    out = copy.deepcopy(dict(record))
    unknown: list[dict[str, Any]] = []
    for path, names in mappings:
        _decode_at(out, path.split("."), names, path, unknown)
    if unknown:
        out[UNKNOWN_KEY] = unknown
    return out


def _decode_at(
    node: Any, parts: list[str], names: dict[str, str], path: str, unknown: list[dict[str, Any]]
) -> None:
    head, rest = parts[0], parts[1:]
    each = head.endswith("[]")
    key = head.removesuffix("[]")
    if not isinstance(node, dict) or key not in node:
        return
    if each:
        items = node[key]
        if isinstance(items, list):
            for index, item in enumerate(items):
                _decode_at(item, rest, names, path.replace("[]", f"[{index}]", 1), unknown)
        return
    if rest:
        _decode_at(node[key], rest, names, path, unknown)
        return
    code = node[key]
    # Only integer codes (or their string form) are in the mapping; anything else is flagged.
    name = (
        names.get(str(code))
        if isinstance(code, (int, str)) and not isinstance(code, bool)
        else None
    )
    node[f"{key}_name"] = name
    if name is None and code is not None:
        unknown.append({"field": path, "code": code})
