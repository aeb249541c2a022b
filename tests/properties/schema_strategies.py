"""Hypothesis strategies for an action's inputs, derived from its input schema.

hypothesis-jsonschema does not run on the hypothesis this project pins (it reaches into
hypothesis internals that changed), so this is a small generator for the keywords the
pack's input schemas use (see `KEYWORDS`). It aims at valid values; the pack's own
validator is the oracle that classifies each generated value, so a keyword this
generator approximates (not, if/then, patterns it cannot build) only shifts values
from the valid side to the invalid side, it never makes a test wrong.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urljoin

from hypothesis import strategies as st

from soarpack.schemas import LOCAL_PATH_KEY, SchemaStore

Schema = dict[str, Any]
JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
# Scalars only: wrong-type values never need to be big to be wrong.
_SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "integer": st.integers(-(2**40), 2**40),
    "number": st.floats(allow_nan=False, allow_infinity=False, width=32).filter(
        lambda f: f != int(f)
    ),
    "string": st.text(max_size=12),
    "array": st.lists(st.integers(0, 9), max_size=2),
    "object": st.dictionaries(st.sampled_from("abc"), st.integers(0, 9), max_size=2),
}


def inline(store: SchemaStore, schema: Any, base: str = "", depth: int = 0) -> Any:
    """`schema` with every `$ref` replaced by its target (keeps `x-` keys)."""
    if depth > 24:  # recursive schemas: stop and allow anything there
        return {}
    if isinstance(schema, list):
        return [inline(store, s, base, depth) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if isinstance(schema.get("$ref"), str):
        ref = schema["$ref"]
        target, _ = store.resolve({"$ref": ref}, base)
        merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
        return inline(store, merged, urljoin(base, ref).split("#", 1)[0], depth + 1)
    out: Schema = {}
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs"):
            out[key] = {k: inline(store, v, base, depth + 1) for k, v in value.items()}
        elif key in ("const", "enum", "required", "default", "examples"):
            out[key] = value
        else:
            out[key] = inline(store, value, base, depth + 1)
    return out


def local_path_inputs(schema: Schema) -> set[str]:
    """Inputs naming a file on disk: tests point them into a temporary folder."""
    return {n for n, p in schema.get("properties", {}).items() if p.get(LOCAL_PATH_KEY)}


def values(schema: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values meant to satisfy `schema` (an inlined schema)."""
    if not isinstance(schema, dict) or depth > 6:
        return st.none()
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("allOf",):
        if schema.get(key):
            merged = _merge(schema, *schema[key])
            merged.pop(key, None)
            return values(merged, depth)
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            rest = {k: v for k, v in schema.items() if k != key}
            return st.one_of([values(_merge(rest, b), depth) for b in schema[key]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([values({**schema, "type": k}, depth) for k in kind])
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "object":
        return _objects(schema, depth)
    if kind == "array":
        items = schema.get("items") if isinstance(schema.get("items"), dict) else {}
        low = int(schema.get("minItems", 0))
        high = int(schema.get("maxItems", low + 3))
        unique = bool(schema.get("uniqueItems"))
        return st.lists(values(items, depth + 1), min_size=low, max_size=high, unique=unique)
    if kind == "string":
        return _strings(schema)
    if kind in ("integer", "number"):
        low = schema.get("minimum")
        if "exclusiveMinimum" in schema:
            low = schema["exclusiveMinimum"] + 1
        high = schema.get("maximum")
        ints = st.integers(
            min_value=int(low) if low is not None else -(2**31),
            max_value=int(high) if high is not None else 2**31,
        )
        return ints if kind == "integer" else st.one_of(ints, ints.map(lambda i: i + 0.5))
    return _SCALARS.get(str(kind), st.none())


def _strings(schema: Schema) -> st.SearchStrategy[str]:
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            found = st.from_regex(re.compile(pattern), fullmatch=True)
        except Exception:  # a pattern the regex strategy cannot build: plain text
            found = st.text(min_size=low, max_size=high)
        return found.filter(lambda s: low <= len(s) <= (high if high is not None else len(s)))
    return st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
        min_size=low,
        max_size=high if high is not None else low + 20,
    )


def _objects(schema: Schema, depth: int) -> st.SearchStrategy[dict[str, Any]]:
    props: dict[str, Any] = schema.get("properties", {})
    required = [n for n in schema.get("required", []) if n in props]
    optional = [n for n in props if n not in required]
    fixed = st.fixed_dictionaries(
        {n: values(props[n], depth + 1) for n in required},
        optional={n: values(props[n], depth + 1) for n in optional},
    )
    return fixed


def _merge(base: Schema, *parts: Any) -> Schema:
    out = dict(base)
    for part in parts:
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties":
                out["properties"] = {**out.get("properties", {}), **value}
            elif key == "required":
                out["required"] = sorted(set(out.get("required", [])) | set(value))
            else:
                out[key] = value
    return out


@st.composite
def invalid(draw: st.DrawFn, schema: Schema) -> tuple[dict[str, Any], str]:
    """A value built valid, then broken at one top-level field: (value, that field).

    The break is one of: an unknown field, a required field left out, a field of the
    wrong JSON type, or a field's value outside its bounds (length, range, enum).
    """
    value = dict(draw(values(schema)))
    props: dict[str, Any] = schema.get("properties", {})
    required = [n for n in schema.get("required", []) if n in props]
    moves = ["unknown", "wrong_type"] + (["missing"] if required else [])
    move = draw(st.sampled_from(moves))
    if move == "unknown" or not props:
        name = draw(
            st.text(alphabet="xyz_", min_size=1, max_size=8).filter(lambda n: n not in props)
        )
        value[name] = draw(_SCALARS["string"])
        return value, name
    if move == "missing":
        name = draw(st.sampled_from(required))
        value.pop(name, None)
        return value, name
    name = draw(st.sampled_from(sorted(props)))
    kinds = props[name].get("type", [])
    kinds = set(kinds if isinstance(kinds, list) else [kinds])
    if "number" in kinds:
        kinds.add("integer")
    wrong = [k for k in JSON_TYPES if k not in kinds and (k != "number" or "integer" not in kinds)]
    value[name] = draw(_SCALARS[draw(st.sampled_from(wrong))])
    return value, name
