"""The pack's schemas reshaped, as they are published, into forms code generators type.

The pack's schemas stay the one source; this module rewrites the bundled copies in
the OpenAPI document only, and every rewrite accepts exactly the instances the original
accepts (JSON Schema 2020-12), so the document and the server's checks never disagree:

- An enum that mixes JSON types (Lacework's codes and names, `[0, 1, "INIT", ...]`, or
  names and null) is one `oneOf` branch per type, each a plain `{"type": T, "enum":
  [...]}` (null: `{"type": "null"}`): generators build one enum per branch instead of
  dropping the schema (or building the same enum once per type).
- An array without `items` gets `items: {}` (anything), which it already allowed.
- A `$ref` beside other keywords, to a schema that only annotates (a description, the
  `x-enum-names` table), is replaced by those annotations: generators read only the
  `$ref` and would lose the keywords beside it.
- An object whose one `oneOf` only picks which fields are required or absent (the time
  window: `timeperiod`, or `starttime` with `endtime`, ...) becomes a `oneOf` of whole
  objects, one named component per branch, each with its own fields and `required`.
  With `additionalProperties: false`, leaving a field out of a branch forbids it there.
- `allOf` of one `$ref` is that `$ref`: generators copy an `allOf` into each schema
  that holds it, and two copies of the same inline model clash by name.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# Keywords whose value is one schema, a list of schemas, or a map of names to schemas.
_ONE = (
    "items",
    "additionalProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)
_LIST = ("allOf", "anyOf", "oneOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "dependentSchemas")

# Keywords that say something about a schema without constraining what it accepts.
_ANNOTATIONS = {"title", "description", "$comment", "examples", "deprecated", "default"}

_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (type(None), "null"),
    (list, "array"),
    (dict, "object"),
)

_REF_PREFIX = "#/components/schemas/"


def publish(schemas: dict[str, Schema]) -> dict[str, Schema]:
    """The components as published: each schema reshaped (see the module docstring),
    plus one component per branch of a split object, named `<schema>.<branch>`."""
    shaped = {name: _shape(schema, schemas) for name, schema in schemas.items()}
    published: dict[str, Schema] = {}
    for name, schema in shaped.items():
        branches = _split_object(schema, shaped)
        if branches is None:
            published[name] = _lone_all_of(schema)
            continue
        refs = []
        for title, branch in branches:
            key = _free(f"{name}.{title}", shaped, published)
            published[key] = _lone_all_of(branch)
            refs.append({"$ref": _REF_PREFIX + key})
        outer = {k: v for k, v in schema.items() if k in _ANNOTATIONS or k.startswith("x-")}
        published[name] = {**outer, "oneOf": refs}
    return published


def _shape(schema: Any, components: dict[str, Schema]) -> Any:
    """`schema` with its subschemas shaped, then itself."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in _ONE:
        if isinstance(out.get(key), dict):
            out[key] = _shape(out[key], components)
    for key in _LIST:
        if isinstance(out.get(key), list):
            out[key] = [_shape(s, components) for s in out[key]]
    for key in _MAP:
        if isinstance(out.get(key), dict):
            out[key] = {k: _shape(s, components) for k, s in out[key].items()}
    out = _inline_annotation_ref(out, components)
    out = _split_enum(out)
    if _has_type(out, "array") and "items" not in out and "prefixItems" not in out:
        out["items"] = {}
    return out


def _inline_annotation_ref(schema: Schema, components: dict[str, Schema]) -> Schema:
    ref = schema.get("$ref")
    if not isinstance(ref, str) or set(schema) == {"$ref"} or not ref.startswith(_REF_PREFIX):
        return schema
    target = components.get(ref.removeprefix(_REF_PREFIX))
    if target is None or not all(_is_annotation(k) for k in target):
        return schema
    # The target accepts anything: dropping the reference keeps what is accepted.
    out = {k: v for k, v in target.items()}
    out.update({k: v for k, v in schema.items() if k != "$ref"})
    return out


def _split_enum(schema: Schema) -> Schema:
    values = schema.get("enum")
    if not isinstance(values, list):
        return schema
    allowed = schema.get("type")
    allowed = {allowed} if isinstance(allowed, str) else set(allowed or ())
    by_type: dict[str, list[Any]] = {}
    for value in values:
        kind = _json_type(value)
        # A value the `type` refuses was never accepted: it is left out.
        if not allowed or kind in allowed or (kind == "integer" and "number" in allowed):
            by_type.setdefault(kind, []).append(value)
    if len(by_type) < 2:
        return schema
    branches: list[Schema] = [
        {"type": t} if t == "null" else {"type": t, "enum": v} for t, v in by_type.items()
    ]
    out = {k: v for k, v in schema.items() if k not in ("enum", "type")}
    if "oneOf" in out:
        out["allOf"] = [*out.get("allOf", []), {"oneOf": branches}]
    else:
        # Exclusive by type, so exactly one branch matches a value of the enum.
        out["oneOf"] = branches
    return out


def _split_object(schema: Schema, components: dict[str, Schema]) -> list[tuple[str, Schema]] | None:
    """The branches of an object whose one `oneOf` only picks required fields, each a
    whole object; None when `schema` is not such an object."""
    if schema.get("type") != "object" or schema.get("additionalProperties") is not False:
        return None
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return None
    found = _choice(schema, components)
    if found is None:
        return None
    choice, rest = found
    base = {k: v for k, v in schema.items() if k not in ("oneOf", "allOf")}
    if rest:
        base["allOf"] = rest
    required = list(schema.get("required", []))
    branches = []
    for n, branch in enumerate(choice):
        picked = _picked(branch)
        if picked is None:
            return None
        wanted, absent = picked
        title = branch.get("title") or "_".join(wanted) or f"choice{n + 1}"
        branches.append(
            (
                _title_key(str(title)),
                {
                    **base,
                    "properties": {k: v for k, v in properties.items() if k not in absent},
                    "required": [*required, *(f for f in wanted if f not in required)],
                },
            )
        )
    return branches


def _choice(schema: Schema, components: dict[str, Schema]) -> tuple[list[Schema], list[Any]] | None:
    """The one `oneOf` to split on (the schema's own, or that of a schema its `allOf`
    refers to) and the `allOf` entries left; None unless there is exactly one."""
    choices: list[list[Schema]] = []
    rest: list[Any] = []
    if isinstance(schema.get("oneOf"), list):
        choices.append(schema["oneOf"])
    for entry in schema.get("allOf", []):
        target = entry
        ref = entry.get("$ref") if isinstance(entry, dict) else None
        if isinstance(ref, str) and set(entry) == {"$ref"} and ref.startswith(_REF_PREFIX):
            target = components.get(ref.removeprefix(_REF_PREFIX), entry)
        if (
            isinstance(target, dict)
            and isinstance(target.get("oneOf"), list)
            and all(k == "oneOf" or _is_annotation(k) for k in target)
        ):
            choices.append(target["oneOf"])
        else:
            rest.append(entry)
    if len(choices) != 1:
        return None
    return choices[0], rest


def _picked(branch: Any) -> tuple[list[str], set[str]] | None:
    """(required fields, forbidden fields) of a branch that says only that: `required`,
    and `not` of one field's `required` or of an `anyOf` of such."""
    if not isinstance(branch, dict) or not all(
        k in ("required", "not") or _is_annotation(k) for k in branch
    ):
        return None
    absent: set[str] = set()
    if "not" in branch:
        forbidden = branch["not"]
        if not isinstance(forbidden, dict):
            return None
        alternatives = forbidden["anyOf"] if set(forbidden) == {"anyOf"} else [forbidden]
        for alternative in alternatives:
            if not isinstance(alternative, dict) or set(alternative) != {"required"}:
                return None
            fields = alternative["required"]
            if not isinstance(fields, list) or len(fields) != 1:
                return None
            absent.add(fields[0])
    return list(branch.get("required", [])), absent


def _lone_all_of(schema: Schema) -> Schema:
    all_of = schema.get("allOf")
    if (
        isinstance(all_of, list)
        and len(all_of) == 1
        and isinstance(all_of[0], dict)
        and set(all_of[0]) == {"$ref"}
        and "$ref" not in schema
    ):
        out = {k: v for k, v in schema.items() if k != "allOf"}
        out["$ref"] = all_of[0]["$ref"]
        return out
    return schema


def _is_annotation(key: str) -> bool:
    return key in _ANNOTATIONS or key.startswith("x-")


def _has_type(schema: Schema, name: str) -> bool:
    kind = schema.get("type")
    return kind == name or (isinstance(kind, list) and name in kind)


def _json_type(value: Any) -> str:
    for cls, name in _JSON_TYPES:
        if type(value) is cls:
            return name
    return "object"


def _title_key(title: str) -> str:
    # A branch's title (`starttime/endtime`) as a component name's last part.
    return "_".join(part for part in title.replace("/", " ").split() if part)


def _free(name: str, *taken: dict[str, Schema]) -> str:
    found, n = name, 1
    while any(found in t for t in taken):
        n += 1
        found = f"{name}_{n}"
    return found
