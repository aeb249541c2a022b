"""JSON Schema handling: one registry of the pack's `schemas/`, cached validators,
defaults, plain-words field errors, and the walk that finds semantic tags.

Every file under `schemas/` is registered under its path relative to that folder
(`netskope/v1.json`), so a `$ref` written in the manifest or in a schema file is a
plain relative path and resolves offline.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urljoin

import jsonschema_rs
import msgspec

from soarpack.errors import QUOTE_LIMIT, FieldError, PackError, shortened

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

Schema = dict[str, Any]
Check = Callable[[Any], bool]

# Where the fast validator's registry places the files (never fetched: offline).
_FAST_BASE = "https://schemas.soarpack.invalid/"


@functools.cache
def _jsonschema_classes() -> tuple[Any, Any]:
    """(Draft 2020-12 validator class, its strict variant). jsonschema is imported on
    first use only: the fast check answers every valid instance, and jsonschema's import
    alone took longer than a CLI invocation's own work."""
    from jsonschema import Draft202012Validator, validators

    strict = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
            "integer",
            lambda _checker, value: isinstance(value, int) and not isinstance(value, bool),
        ),
    )
    return Draft202012Validator, strict


SECRET_KEY = "x-secret"
SEMANTIC_KEY = "x-semantic"
ERROR_KEY = "x-error"
# An input that names a path on the local disk (the action reads or writes files there).
LOCAL_PATH_KEY = "x-local-path"


class SchemaFiles(Mapping[str, Schema]):
    """The pack's schema files by path under `schemas/`, each decoded on first use.

    Every file is read at load (its bytes feed the pack's fingerprint), but a command
    decodes only what it uses: the generated Lacework Edge file alone is 560 KB, and a
    Netskope action never needs it. A file that is not JSON raises PackError when used;
    `decode_all` checks them all at once (a first load of the pack, `soarpack validate`).
    """

    def __init__(self, raw: dict[str, bytes]) -> None:
        self.raw = raw
        self._decoded: dict[str, Schema] = {}
        # A whole file's `#/...` refs resolve within that file: its path is their base.
        self.path_of: dict[int, str] = {}

    def __getitem__(self, rel: str) -> Schema:
        found = self._decoded.get(rel)
        if found is None:
            data = self.raw[rel]
            try:
                decoded = msgspec.json.decode(data)
            except msgspec.DecodeError as exc:
                raise PackError([(f"schemas/{rel}", f"not valid JSON: {exc}")]) from None
            # Two threads may decode a file at once: one copy wins and is kept for good,
            # so the id `path_of` knows it by is never reused by another object.
            found = self._decoded.setdefault(rel, decoded)
            self.path_of[id(found)] = rel
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)

    def decode_all(self) -> None:
        """Decode every file, or PackError naming each one that is not JSON."""
        problems: list[tuple[str, str]] = []
        for rel in self.raw:
            try:
                self[rel]
            except PackError as error:
                problems.extend(error.problems)
        if problems:
            raise PackError(problems)

    def reached(self, schema: Any, base: str) -> frozenset[str]:
        """The files `schema` (written in the document at `base`) reaches through `$ref`s,
        directly or through other files. Files are scanned as text, not decoded."""
        seen: set[str] = set()
        todo = [urljoin(ref_base, ref).partition("#")[0] for ref, ref_base in _refs(schema, base)]
        if base in self.raw:
            todo.append(base)
        while todo:
            rel = todo.pop()
            if rel in seen or rel not in self.raw:
                continue
            seen.add(rel)
            for ref in _REF_IN_TEXT.findall(self.raw[rel]):
                todo.append(urljoin(rel, ref.decode("utf-8", "replace")).partition("#")[0])
        return frozenset(seen)


# A `$ref` in a schema file's text (a ref with an escaped quote is not seen: the fast
# check then finds it missing and jsonschema answers instead, which is slower, not wrong).
_REF_IN_TEXT = re.compile(rb'"\$ref"\s*:\s*"([^"\\]*)"')


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
        self._checks: dict[tuple[int, bool], tuple[Schema, Check | None]] = {}
        self._resolved: dict[tuple[int, str], tuple[Schema, tuple[Schema, str]]] = {}
        self._properties: dict[tuple[int, str], tuple[Schema, dict[str, Schema]]] = {}
        # jsonschema-rs registries (the fast yes/no check), by the files they hold.
        self._fast_registries: dict[frozenset[str], jsonschema_rs.Registry] = {}

    def fingerprint(self) -> str:
        """SHA-256 over every schema file's path and bytes: what a cached verdict on the
        manifest (soarpack.manifest_cache) depends on besides the manifest itself."""
        digest = hashlib.sha256()
        for rel, data in self.files.raw.items():
            digest.update(f"{rel}\0{len(data)}\0".encode())
            digest.update(data)
        return digest.hexdigest()

    def _fast_registry(self, schema: Schema, base: str) -> jsonschema_rs.Registry | None:
        """A jsonschema-rs registry of the files `schema` reaches (all of them when a
        file uses $id), built once per set of files."""
        wanted = frozenset(self.files.raw) if self._ids else self.files.reached(schema, base)
        if not wanted:
            return None
        found = self._fast_registries.get(wanted)
        if found is None:
            found = jsonschema_rs.Registry(
                [(_FAST_BASE + rel, self.files[rel]) for rel in sorted(wanted)]
            )
            self._fast_registries[wanted] = found
        return found

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
            draft, strict_draft = _jsonschema_classes()
            cls = strict_draft if strict else draft
            found = cls(schema, registry=self.registry, format_checker=draft.FORMAT_CHECKER)
            self._validators[key] = found
        return found

    def check(self, schema: Schema, *, strict: bool = False) -> Check | None:
        """A fast yes/no check for `schema` (cached), or None where it cannot be built.

        jsonschema interprets the schema on every call: checking a 10-alert answer cost
        ~1.5 ms, more than the HTTP call. jsonschema-rs compiles it once and answers in
        microseconds; jsonschema is then asked only for an instance this check refuses,
        for its field-by-field messages. A yes here is always right; a no means "ask
        jsonschema". In `strict` mode any float in the instance gets a no, because
        jsonschema-rs (like the standard) takes 2.0 for an integer and strict does not; so
        does data that is not JSON (a mapping with non-string keys).
        """
        key = (id(schema), strict)
        cached = self._checks.get(key)
        if cached is not None and cached[0] is schema:
            return cached[1]
        base = self.files.path_of.get(id(schema), "")
        try:
            fast = jsonschema_rs.validator_for(
                schema,
                registry=self._fast_registry(schema, base),
                base_uri=_FAST_BASE + (base or "_inline.json"),
                validate_formats=True,
                offline=True,
            )
        except (ValueError, jsonschema_rs.ReferencingError):
            found: Check | None = None
        else:
            found = _no_floats_and(fast.is_valid) if strict else _or_no(fast.is_valid)
        self._checks[key] = (schema, found)
        return found

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
            elif isinstance(target, list) and token.isdigit() and int(token) < len(target):
                target = target[int(token)]
            else:
                raise _unresolvable(ref)
        return target, doc

    def check_refs(self, schema: Any, base: str = "") -> list[str]:
        """Every `$ref` under `schema` that does not resolve, as messages."""
        from referencing.exceptions import Unresolvable

        problems: list[str] = []
        for ref, ref_base in _refs(schema, base):
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
            found.extend(_field_errors(error))
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


def _refs(schema: Any, base: str) -> Iterator[tuple[str, str]]:
    if isinstance(schema, dict):
        if isinstance(schema.get("$ref"), str):
            yield schema["$ref"], base
        for key, value in schema.items():
            if key not in ("const", "enum", "examples", "default"):
                yield from _refs(value, base)
    elif isinstance(schema, list):
        for item in schema:
            yield from _refs(item, base)


def _unresolvable(ref: str) -> Exception:
    from referencing.exceptions import Unresolvable

    return Unresolvable(ref=ref)


def pointer_of(path: Any) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in path)


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


def _field_errors(error: ValidationError) -> list[FieldError]:
    """Turn one jsonschema error into field errors a person can act on."""
    at = pointer_of(error.absolute_path)
    rule = str(error.validator)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance

    if rule == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [FieldError(f"{at}/{missing}", "required", "is required")]
    if rule == "additionalProperties" and isinstance(instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        return [
            FieldError(f"{at}/{k}", "additionalProperties", "is not a known field") for k in extra
        ]
    if rule in ("oneOf", "anyOf") and isinstance(instance, dict):
        # Name the fields that took part in the choice, so "timeperiod and starttime
        # together" points at both rather than at the whole input.
        involved = sorted(_required_names(schema.get(rule, [])) & set(instance))
        message = schema.get(ERROR_KEY) or "does not match exactly one of the allowed combinations"
        if rule == "anyOf":
            message = schema.get(ERROR_KEY) or "does not match any of the allowed combinations"
        if involved:
            given = ", ".join(f"`{n}`" for n in involved)
            return [FieldError(f"{at}/{n}", rule, f"{message} (given: {given})") for n in involved]
        return [FieldError(at, rule, f"{message} (none given)")]
    if rule == "enum":
        options = ", ".join(_json(o) for o in schema.get("enum", []))
        return [FieldError(at, rule, f"{_json(instance)} is not one of {options}")]
    if rule == "type":
        expected = schema.get("type")
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return [FieldError(at, rule, f"{_json(instance)} is not of type {wanted}")]
    if rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "less than the minimum of",
            "maximum": "greater than the maximum of",
            "exclusiveMinimum": "not greater than",
            "exclusiveMaximum": "not less than",
        }[rule]
        return [FieldError(at, rule, f"{_json(instance)} is {words} {schema.get(rule)}")]
    if rule == "pattern" and ERROR_KEY not in schema:
        return [
            FieldError(at, rule, f"does not match the required pattern {schema.get('pattern')}")
        ]
    message = schema.get(ERROR_KEY) or _quoted_briefly(error.message, instance)
    return [FieldError(at, rule, str(message))]


def _quoted_briefly(message: str, instance: Any) -> str:
    """jsonschema's own message, with the instance it quotes in full (its repr: a
    100 KB string "is too long" quoted whole) shortened like our own messages."""
    quoted = repr(instance)
    if len(quoted) <= QUOTE_LIMIT:
        return message
    if quoted in message:
        return message.replace(quoted, _json(instance))
    return shortened(message, 2 * QUOTE_LIMIT)


def _json(value: Any) -> str:
    """A value as the user wrote it (JSON), shortened: messages never dump whole inputs."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _required_names(branches: list[Any]) -> set[str]:
    names: set[str] = set()
    for branch in branches:
        if isinstance(branch, dict):
            names.update(branch.get("required", []))
            for key in ("not", "anyOf", "allOf", "oneOf"):
                inner = branch.get(key)
                names |= _required_names(inner if isinstance(inner, list) else [inner])
    return names
