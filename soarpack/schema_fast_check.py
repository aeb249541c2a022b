"""The fast yes/no schema check: jsonschema-rs compiles a schema once and answers in
microseconds, where jsonschema interprets it on every call (a 10-alert answer cost
~1.5 ms, more than the HTTP call). jsonschema is asked only for an instance this check
refuses, for its field-by-field messages (soarpack.schema_errors).

A yes here is always right; a no means "ask jsonschema".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema_rs

from soarpack.schema_files import Schema, SchemaFiles

Check = Callable[[Any], bool]

# Where the fast validator's registry places the files (never fetched: offline).
_FAST_BASE = "https://schemas.soarpack.invalid/"


class FastChecks:
    """Checks compiled once per schema, over the registries of the files they reach."""

    def __init__(self, files: SchemaFiles, *, uses_ids: bool) -> None:
        self.files = files
        # An $id changes what a relative ref means: every file then goes in every registry.
        self.uses_ids = uses_ids
        self._checks: dict[tuple[int, bool], tuple[Schema, Check | None]] = {}
        # jsonschema-rs registries, by the files they hold.
        self._registries: dict[frozenset[str], jsonschema_rs.Registry] = {}

    def check(self, schema: Schema, *, strict: bool = False) -> Check | None:
        """A fast yes/no check for `schema` (cached), or None where it cannot be built.

        In `strict` mode any float in the instance gets a no, because jsonschema-rs (like
        the standard) takes 2.0 for an integer and strict does not; so does data that is
        not JSON (a mapping with non-string keys).
        """
        key = (id(schema), strict)
        cached = self._checks.get(key)
        if cached is not None and cached[0] is schema:
            return cached[1]
        base = self.files.path_of.get(id(schema), "")
        try:
            fast = jsonschema_rs.validator_for(
                schema,
                registry=self._registry(schema, base),
                base_uri=_FAST_BASE + (base or "_inline.json"),
                validate_formats=True,
                offline=True,
            )
        except (ValueError, jsonschema_rs.ReferencingError):
            found: Check | None = None
        else:
            found = _no_floats_and(fast.is_valid) if strict else _or_no(fast.is_valid)
        self._checks[key] = (schema, found)  # holding `schema` keeps its id unique
        return found

    def _registry(self, schema: Schema, base: str) -> jsonschema_rs.Registry | None:
        """A jsonschema-rs registry of the files `schema` reaches (all of them when a
        file uses $id), built once per set of files."""
        wanted = frozenset(self.files.raw) if self.uses_ids else self.files.reached(schema, base)
        if not wanted:
            return None
        found = self._registries.get(wanted)
        if found is None:
            found = jsonschema_rs.Registry(
                [(_FAST_BASE + rel, self.files[rel]) for rel in sorted(wanted)]
            )
            self._registries[wanted] = found
        return found


def _or_no(is_valid: Check) -> Check:
    """A no, not an exception, for data jsonschema-rs cannot take (a YAML `on:` key is the
    boolean True, not a string): jsonschema then explains what is wrong."""

    def check(value: Any) -> bool:
        try:
            return is_valid(value)
        except ValueError:
            return False

    return check


def _no_floats_and(is_valid: Check) -> Check:
    safe = _or_no(is_valid)
    return lambda value: not _has_float(value) and safe(value)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False
