"""The pack's schemas as one store: a registry of `schemas/`, cached validators and
resolved refs, defaults, field errors, and the walk that finds semantic tags.

Its parts, each in a module of its own: the files and their refs (soarpack.schema_files),
the fast yes/no check (soarpack.schema_fast_check) and the plain-words field errors
(soarpack.schema_errors).
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin

from soarpack.errors import FieldError
from soarpack.schema_errors import field_errors, jsonschema_classes
from soarpack.schema_fast_check import Check, FastChecks
from soarpack.schema_files import Schema, SchemaFiles, refs

if TYPE_CHECKING:
    from referencing import Registry

SECRET_KEY = "x-secret"
SEMANTIC_KEY = "x-semantic"
# An input that names a path on the local disk (the action reads or writes files there).
LOCAL_PATH_KEY = "x-local-path"


class SchemaStore:
    """The pack's schema files, and validators compiled once per schema."""

    def __init__(self, root: Path) -> None:
        self.root = root
        raw = {
            path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*.json"))
        }
        self.files = SchemaFiles(raw)
        # An $id changes what a relative ref means: then `_lookup` leaves it to the registry.
        self._ids = any(b'"$id"' in data for data in raw.values())
        self._validators: dict[tuple[int, bool], Any] = {}
        self._fast = FastChecks(self.files, uses_ids=self._ids)
        self._resolved: dict[tuple[int, str], tuple[Schema, tuple[Schema, str]]] = {}
        self._properties: dict[tuple[int, str], tuple[Schema, dict[str, Schema]]] = {}

    def fingerprint(self) -> str:
        """SHA-256 over every schema file's path and bytes: what a cached verdict on the
        manifest (soarpack.manifest_cache) depends on besides the manifest itself."""
        digest = hashlib.sha256()
        for rel, data in self.files.raw.items():
            digest.update(f"{rel}\0{len(data)}\0".encode())
            digest.update(data)
        return digest.hexdigest()

    @functools.cached_property
    def registry(self) -> Registry[Any]:
        """The files as a `referencing` registry, for jsonschema (built on first use, like
        jsonschema itself; `resolve` looks plain refs up without it)."""
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        return Registry().with_resources(
            (rel, Resource.from_contents(self.files[rel], DRAFT202012)) for rel in self.files
        )

    def validator(self, schema: Schema, *, strict: bool = False) -> Any:
        """A compiled validator for `schema` (cached; schemas are not mutated after load).

        `strict` refuses whole-number floats (2.0) where the schema says integer: JSON
        Schema accepts them, but they would be sent as floats, which vendors reject.
        Inputs are checked strictly; vendor answers leniently.
        """
        key = (id(schema), strict)
        found = self._validators.get(key)
        if found is None:
            draft, strict_draft = jsonschema_classes()
            cls = strict_draft if strict else draft
            found = cls(schema, registry=self.registry, format_checker=draft.FORMAT_CHECKER)
            self._validators[key] = found
        return found

    def check(self, schema: Schema, *, strict: bool = False) -> Check | None:
        """A fast yes/no check for `schema` (cached), or None where it cannot be built:
        a yes is always right, a no means "ask `validator`" (soarpack.schema_fast_check)."""
        return self._fast.check(schema, strict=strict)

    def resolve(self, schema: Schema, base: str = "") -> tuple[Schema, str]:
        """Follow `$ref`s until a schema without one; returns it and its base URI.

        Cached: the engine resolves the same schemas on every invocation (defaults, enum
        names of each record), and a registry lookup costs more than the HTTP call. The
        result is shared, so treat it as read-only, like every schema of the store."""
        if "$ref" not in schema:
            return schema, base
        key = (id(schema), base)
        cached = self._resolved.get(key)
        if cached is not None and cached[0] is schema:
            return cached[1]
        found = self._resolve(schema, base)
        self._resolved[key] = (schema, found)  # holding `schema` keeps its id unique
        return found

    def _resolve(self, schema: Schema, base: str) -> tuple[Schema, str]:
        for _ in range(32):  # a chain longer than this is a cycle
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                return schema, base
            target, doc = self._lookup(ref, base)
            if not isinstance(target, dict):
                raise _unresolvable(ref)
            # Sibling keywords (description, x-semantic...) refine the target.
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            if "$ref" not in target:
                schema.pop("$ref", None)
            # Refs inside the target are relative to the document it lives in.
            base = doc
        raise _unresolvable(str(schema.get("$ref")))

    def _lookup(self, ref: str, base: str) -> tuple[Any, str]:
        """What `ref`, written in the document at `base`, points at, and that document.

        A file path with a JSON pointer (all the pack's refs) is looked up in `files`
        directly: importing `referencing` for it cost a CLI command 30 ms. Anything else
        (an $id or an $anchor) goes to the registry, as does a pack whose files use $id.
        """
        doc, _, fragment = urljoin(base, ref).partition("#")
        target = self.files.get(doc)
        if target is None or not (fragment == "" or fragment.startswith("/")) or self._ids:
            return self.registry.resolver(base_uri=base).lookup(ref).contents, doc
        for token in fragment.split("/")[1:]:
            token = unquote(token).replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and token in target:
                target = target[token]
            elif (
                isinstance(target, list)
                and token.isascii()
                and token.isdigit()
                and int(token) < len(target)
            ):
                target = target[int(token)]
            else:
                raise _unresolvable(ref)
        return target, doc

    def check_refs(self, schema: Any, base: str = "") -> list[str]:
        """Every `$ref` under `schema` that does not resolve, as messages."""
        from referencing.exceptions import Unresolvable

        problems: list[str] = []
        for ref, ref_base in refs(schema, base):
            try:
                self.registry.resolver(base_uri=ref_base).lookup(ref)
            except Unresolvable:
                problems.append(f"$ref {ref!r} does not resolve")
        return problems

    # -- defaults -------------------------------------------------------------------

    def apply_defaults(self, schema: Schema, instance: dict[str, Any]) -> dict[str, Any]:
        """A copy of `instance` with the defaults of absent top-level properties filled in."""
        out = dict(instance)
        for name, prop in self.properties(schema).items():
            if name not in out and "default" in prop:
                value = prop["default"]
                # Only a list or object default could be changed through the copy handed out.
                out[name] = copy.deepcopy(value) if isinstance(value, (dict, list)) else value
        return out

    def properties(self, schema: Schema, base: str = "") -> dict[str, Schema]:
        """Top-level properties of an object schema, through `$ref` and `allOf`, resolved
        (cached like `resolve`; the dict returned is the caller's own)."""
        key = (id(schema), base)
        cached = self._properties.get(key)
        if cached is None or cached[0] is not schema:
            cached = (schema, self._properties_of(schema, base))
            self._properties[key] = cached
        return dict(cached[1])

    def _properties_of(self, schema: Schema, base: str) -> dict[str, Schema]:
        schema, base = self.resolve(schema, base)
        found: dict[str, Schema] = {}
        for part in schema.get("allOf", []):
            found.update(self.properties(part, base))
        for name, prop in schema.get("properties", {}).items():
            found[name] = self.resolve(prop, base)[0]
        return found

    # -- errors ---------------------------------------------------------------------

    def errors(self, schema: Schema, instance: Any, *, strict: bool = False) -> list[FieldError]:
        """Every way `instance` breaks `schema`, each naming its field and rule, sorted."""
        check = self.check(schema, strict=strict)
        if check is not None and check(instance):
            return []  # the usual case, ~20x faster than asking jsonschema
        found: list[FieldError] = []
        for error in self.validator(schema, strict=strict).iter_errors(instance):
            found.extend(field_errors(error))
        return sorted(set(found))

    # -- semantic tags --------------------------------------------------------------

    def semantic_fields(self, schema: Schema) -> list[tuple[str, str]]:
        """(JSON pointer, semantic type) for each tagged field; `*` stands for array items."""
        return sorted(set(self._walk_semantic(schema, "", "", frozenset())))

    def _walk_semantic(
        self, schema: Any, pointer: str, base: str, seen: frozenset[str]
    ) -> Iterator[tuple[str, str]]:
        if not isinstance(schema, dict):
            return
        ref = schema.get("$ref")
        if isinstance(ref, str):
            key = f"{base}|{ref}"
            if key in seen:  # recursive schema
                return
            seen = seen | {key}
        schema, base = self.resolve(schema, base)
        if isinstance(schema.get(SEMANTIC_KEY), str):
            yield pointer or "/", schema[SEMANTIC_KEY]
        for name, prop in schema.get("properties", {}).items():
            yield from self._walk_semantic(prop, f"{pointer}/{name}", base, seen)
        if isinstance(schema.get("items"), dict):
            yield from self._walk_semantic(schema["items"], f"{pointer}/*", base, seen)
        for key in ("allOf", "anyOf", "oneOf"):
            for part in schema.get(key, []):
                yield from self._walk_semantic(part, pointer, base, seen)


def _unresolvable(ref: str) -> Exception:
    from referencing.exceptions import Unresolvable

    return Unresolvable(ref=ref)
