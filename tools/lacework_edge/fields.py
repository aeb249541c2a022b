"""JSON Schemas for the fields of the Lacework Edge seed: from a table row or a sample value.

A table row gives a field's type, enum, proto type and description; object rows lost their
structure in the seed's rendering, so their schema comes from the request sample instead.
"""

from __future__ import annotations

from typing import Any

from tools.lacework_edge.seed import Param

_SCALARS = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
_ARRAYS = {"strings": "string", "integers": "integer", "numbers": "number", "booleans": "boolean"}
_FLOATY = ("latitude", "longitude")
_SECRET_OUTPUTS = {"token", "secret", "time_id_token", "jwt"}


def param_schema(param: Param, sample: Any, names: dict[str, int]) -> dict[str, Any]:
    kind = param.type
    schema: dict[str, Any]
    if kind in _SCALARS:
        schema = {"type": _SCALARS[kind]}
        if param.enum is not None:
            schema["enum"] = param.enum
    elif kind.startswith("Array of ") and kind != "Array of objects":
        items: dict[str, Any] = {"type": _ARRAYS[kind.removeprefix("Array of ")]}
        if param.enum is not None:
            items["enum"] = param.enum
        schema = {"type": "array", "items": items}
    else:  # object rows: the structure is only in the request sample
        schema = infer(sample, output=False) if sample is not None else {"type": "object"}
    if param.format:
        schema["x-proto-type"] = param.format
    if param.description:
        schema["description"] = param.description
    if param.format == "proto.EnumStatus" or "INIT = 1" in param.description:
        schema["x-enum-names"] = names
    return schema


def infer(sample: Any, *, output: bool, key: str = "") -> dict[str, Any]:
    """A JSON schema for a seed sample value ("string", 0, true, [..], {..})."""
    if isinstance(sample, bool):
        return {"type": "boolean"}
    if isinstance(sample, int):
        return {"type": "number" if key.endswith(_FLOATY) else "integer"}
    if isinstance(sample, float):
        return {"type": "number"}
    if isinstance(sample, str):
        schema: dict[str, Any] = {"type": "string"}
        if output and key in _SECRET_OUTPUTS:
            schema["x-secret"] = True
        return schema
    if isinstance(sample, list):
        known = [item for item in sample if item is not None]
        return (
            {"type": "array", "items": infer(known[0], output=output, key=key)}
            if known
            else {"type": "array"}
        )
    if isinstance(sample, dict):
        if set(sample) == {"property1", "property2"}:
            return {
                "type": "object",
                "additionalProperties": infer(sample["property1"], output=output),
            }
        return {
            "type": "object",
            "properties": {k: infer(v, output=output, key=k) for k, v in sample.items()},
        }
    return {}  # null in a sample says nothing about the type
