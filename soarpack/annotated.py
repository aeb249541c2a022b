"""Schema annotations applied to values: `x-enum-names` and `x-secret`.

Numeric vendor codes by name, declared in schemas with `x-enum-names` (the one table of a
code field, name -> number):

    {"type": ["integer", "string"], "enum": [0, 1, 2, "INIT", "ACTIVE"],
     "x-enum-names": {"INIT": 1, "ACTIVE": 2}}

On the way in, a name is replaced by its number after validation (vendors want the
number). On the way out, wherever the output schema declares both `<field>` (with
`x-enum-names`) and `<field>_name`, the name is added next to the code, which is kept as
it came: a number, or its decimal string form ("1"). A code the table does not know (or
of another type: a boolean, a float, any other text) is named null and flagged: it is
listed, as `{"field": path, "code": value}`, in the `unknown_codes` of the nearest
object around it whose schema declares `unknown_codes` (schemas/common/codes.json), or
else of the output itself. A null code is named null and not flagged: there is no code.

A vendor answer's fields marked `x-secret` (a session token, a temporary secret) are
registered for redaction as soon as the answer is read: the Python API still hands
them to the caller in `ActionResult.data`, but every log, error, journal and CLI
output shows them masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from soarpack.redact import register_secret
from soarpack.schemas import SECRET_KEY, SchemaStore

NAMES_KEY = "x-enum-names"
# Where the codes a table does not know are listed (see the module docstring).
UNKNOWN_KEY = "unknown_codes"

# A code sent as text: the decimal form of an integer, nothing looser ("01", " 1", "1.0").
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)")


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
    plan = names_plan(store, schema, base)
    return value if plan is None else plan.apply(value)


@dataclass
class NamesPlan:
    """Where `with_names` has work in one schema, found once: the engine keeps a plan per
    action, so naming a 10-alert answer visits only the fields that lead to a name
    table instead of resolving the whole output schema on every call."""

    # (field, its `<field>_name` label, number -> name) for fields named at this level.
    labels: list[tuple[str, str, dict[int, str]]] = field(default_factory=list)
    # Plans of the properties that lead to named fields further down.
    props: dict[str, NamesPlan] = field(default_factory=dict)
    items: NamesPlan | None = None
    # Whether this object's schema declares `unknown_codes`: the flags below it go there.
    collects: bool = False

    def apply(self, value: Any) -> Any:
        """`value` named; the codes no object collects are flagged at its top."""
        flags: list[dict[str, Any]] = []
        out = self._apply(value, "", flags)
        if flags and isinstance(out, dict):
            out[UNKNOWN_KEY] = flags
        return out

    def _apply(self, value: Any, path: str, flags: list[dict[str, Any]]) -> Any:
        if isinstance(value, dict):
            if self.collects:  # this object lists its own unknown codes, paths from here
                flags, path = [], ""
            out = dict(value)
            for key, plan in self.props.items():
                if key in value:
                    out[key] = plan._apply(value[key], _joined(path, key), flags)
            for key, label, names in self.labels:
                if key in value:
                    code = value[key]
                    out[label] = name = _name_of(code, names)
                    if name is None and code is not None:
                        flags.append({"field": _joined(path, key), "code": code})
            if self.collects and flags:
                out[UNKNOWN_KEY] = flags
            return out
        if isinstance(value, list) and self.items is not None:
            items = self.items
            return [
                items._apply(item, f"{path}[{index}]", flags) for index, item in enumerate(value)
            ]
        return value

    def unflagged(self) -> list[str]:
        """The named fields (paths, `[]` for each item) with no object around them that
        declares `unknown_codes`: their unknown codes would go to the output's top."""
        found: list[str] = []
        seen: set[int] = set()

        def walk(plan: NamesPlan, path: str) -> None:
            if plan.collects or id(plan) in seen:
                return
            seen.add(id(plan))
            found.extend(_joined(path, key) for key, _, _ in plan.labels)
            for key, child in plan.props.items():
                walk(child, _joined(path, key))
            if plan.items is not None:
                walk(plan.items, f"{path}[]")

        walk(self, "")
        return sorted(found)


def _name_of(code: Any, names: dict[int, str]) -> str | None:
    """The name of `code` (an integer, or its decimal text), or None."""
    if isinstance(code, str) and _DECIMAL.fullmatch(code):
        code = int(code)
    if isinstance(code, int) and not isinstance(code, bool):
        return names.get(code)
    return None


def _joined(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def names_plan(store: SchemaStore, schema: Any, base: str = "") -> NamesPlan | None:
    """The plan of `with_names` for `schema`, or None where it names nothing."""
    if not uses(store, schema, NAMES_KEY, base):
        return None
    return _plan(store, schema, base, {})


def _plan(
    store: SchemaStore, schema: Any, base: str, made: dict[tuple[int, str], NamesPlan]
) -> NamesPlan:
    key = (id(schema), base)
    if key in made:  # a recursive schema: its plan refers to itself
        return made[key]
    plan = made[key] = NamesPlan()
    schema, base = store.resolve(schema, base)
    props = schema.get("properties", {})
    plan.collects = UNKNOWN_KEY in props
    for name, prop in props.items():
        resolved = store.resolve(prop, base)[0]
        names = resolved.get(NAMES_KEY)
        if isinstance(names, dict) and f"{name}_name" in props:
            plan.labels.append((name, f"{name}_name", _by_number(names)))
        nested = "properties" in resolved or "items" in resolved
        if nested and uses(store, prop, NAMES_KEY, base):
            plan.props[name] = _plan(store, prop, base, made)
    items = schema.get("items")
    if isinstance(items, dict) and uses(store, items, NAMES_KEY, base):
        plan.items = _plan(store, items, base, made)
    return plan


def _by_number(names: dict[str, int]) -> dict[int, str]:
    # Two names for one number: the first is shown.
    out: dict[int, str] = {}
    for name, code in names.items():
        out.setdefault(code, name)
    return out
