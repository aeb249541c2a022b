"""Schema annotations applied to values: `x-enum-names` and `x-secret`.

Numeric vendor enums by name, declared in schemas with `x-enum-names`:

    {"type": ["integer", "string"], "enum": [0, 1, 2, "INIT", "ACTIVE"],
     "x-enum-names": {"INIT": 1, "ACTIVE": 2}}

On the way in, a name is replaced by its number after validation (vendors want the
number). On the way out, wherever the output schema declares both `<field>` (with
`x-enum-names`) and `<field>_name`, the name is added next to the number; a number
the table does not know is named "UNKNOWN" and kept, never dropped.

A vendor answer's fields marked `x-secret` (a session token, a temporary secret) are
registered for redaction as soon as the answer is read: the Python API still hands
them to the caller in `ActionResult.data`, but every log, error, journal and CLI
output shows them masked.
"""

from __future__ import annotations

from typing import Any

from soarpack.redact import register_secret
from soarpack.schemas import SECRET_KEY, SchemaStore

NAMES_KEY = "x-enum-names"
UNKNOWN = "UNKNOWN"


def uses(
    store: SchemaStore,
    schema: Any,
    annotation: str,
    base: str = "",
    _seen: set[int] | None = None,
) -> bool:
    """Whether any part of `schema` (following $refs) carries `annotation`."""
    seen = _seen if _seen is not None else set()
    if not isinstance(schema, dict) or id(schema) in seen:
        return False
    seen.add(id(schema))
    schema, base = store.resolve(schema, base)
    if annotation in schema:
        return True
    children: list[Any] = [schema.get("items"), schema.get("additionalProperties")]
    children += list(schema.get("properties", {}).values())
    for key in ("allOf", "anyOf", "oneOf"):
        children += schema.get(key, [])
    return any(uses(store, child, annotation, base, seen) for child in children)


def register_secrets(store: SchemaStore, schema: Any, value: Any, base: str = "") -> None:
    """Register every string of `value` that the schema marks `x-secret`."""
    if not isinstance(schema, dict):
        return
    schema, base = store.resolve(schema, base)
    if schema.get(SECRET_KEY) and isinstance(value, str):
        register_secret(value)
    elif isinstance(value, dict):
        props = schema.get("properties", {})
        for k, v in value.items():
            if k in props:
                register_secrets(store, props[k], v, base)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            register_secrets(store, schema["items"], item, base)


def to_numbers(store: SchemaStore, schema: Any, value: Any, base: str = "") -> Any:
    """`value` with every enum name replaced by its number (a copy; `value` is untouched)."""
    if not isinstance(schema, dict):
        return value
    schema, base = store.resolve(schema, base)
    names = schema.get(NAMES_KEY)
    if isinstance(names, dict) and isinstance(value, str) and value in names:
        return names[value]
    if isinstance(value, dict):
        props = schema.get("properties", {})
        return {
            k: to_numbers(store, props[k], v, base) if k in props else v for k, v in value.items()
        }
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [to_numbers(store, schema["items"], item, base) for item in value]
    return value


def with_names(store: SchemaStore, schema: Any, value: Any, base: str = "") -> Any:
    """`value` with `<field>_name` added beside each named numeric field the schema declares."""
    if not isinstance(schema, dict):
        return value
    schema, base = store.resolve(schema, base)
    if isinstance(value, dict):
        props = schema.get("properties", {})
        out = {
            k: with_names(store, props[k], v, base) if k in props else v for k, v in value.items()
        }
        for key, prop in props.items():
            names = store.resolve(prop, base)[0].get(NAMES_KEY)
            label = f"{key}_name"
            if names and label in props and isinstance(value.get(key), int):
                out[label] = name_of(names, value[key])
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [with_names(store, schema["items"], item, base) for item in value]
    return value


def name_of(names: dict[str, int], number: int) -> str:
    for name, code in names.items():
        if code == number:
            return name
    return UNKNOWN
