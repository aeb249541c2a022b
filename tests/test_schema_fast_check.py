"""The fast yes/no schema check (jsonschema-rs) agrees with jsonschema: on the keywords'
edge cases, and on every action's input and output schema against valid and broken
instances. Its yes must always be right; in strict mode an instance holding a float gets
a no (jsonschema then decides), so there only its yes is compared."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from soarpack.pack import Pack
from soarpack.schemas import SchemaStore

ODD_VALUES: list[Any] = [None, True, False, 0, 1, 2.0, 2.5, -1, "", "x", [], [1], {}, {"a": 1}]


def agree(store: SchemaStore, schema: Any, instance: Any, *, strict: bool) -> None:
    check = store.check(schema, strict=strict)
    assert check is not None, "schema not compiled"
    expected = store.validator(schema, strict=strict).is_valid(instance)
    if strict and _has_float(instance):
        assert not check(instance), (schema, instance)
    else:
        assert check(instance) == expected, (schema, instance, strict)
    assert (store.errors(schema, instance, strict=strict) == []) == expected


def _has_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return isinstance(value, float)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "integer"},
        {"type": ["string", "null"]},
        {"type": "number", "minimum": 0, "exclusiveMaximum": 2},
        {"enum": [1, "a", None]},
        {"enum": ["a", "b"]},
        {"const": True},
        {"const": 1},
        {"type": "string", "minLength": 1, "maxLength": 1, "pattern": "^x"},
        {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 1},
        {"uniqueItems": True},
        {"properties": {"a": {"type": "integer"}}, "required": ["a"]},
        {"properties": {"a": {}}, "additionalProperties": False},
        {"patternProperties": {"^a$": {"type": "integer"}}, "additionalProperties": False},
        {"additionalProperties": {"type": "integer"}},
        {"oneOf": [{"type": "integer"}, {"type": "number"}]},
        {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
        {"allOf": [{"type": "number"}, {"minimum": 1}]},
        {"not": {"type": "object"}},
        {"if": {"type": "integer"}, "then": {"minimum": 1}, "else": {"type": "string"}},
        {"propertyNames": {"pattern": "^a"}},
        {"minProperties": 1, "multipleOf": 2},
        True,
        False,
    ],
)
def test_keywords_agree_with_jsonschema(tmp_path: Any, schema: Any) -> None:
    (tmp_path / "x.json").write_text("{}")
    store = SchemaStore(tmp_path)
    for value in [*ODD_VALUES, {"a": 2.0}, {"a": True}, {"ab": 1}, {"b": 1}, [1, 1], ["x"]]:
        for strict in (False, True):
            agree(store, schema, value, strict=strict)


def test_recursive_ref(tmp_path: Any) -> None:
    (tmp_path / "tree.json").write_text(
        '{"type": "object", "properties": {"kids": {"type": "array", '
        '"items": {"$ref": "#"}}}, "additionalProperties": false}'
    )
    store = SchemaStore(tmp_path)
    schema = {"$ref": "tree.json"}
    for value in [{}, {"kids": [{}, {"kids": []}]}, {"kids": [{"x": 1}]}, {"kids": [1]}]:
        agree(store, schema, value, strict=False)


def _mutations(instance: Any, props: dict[str, Any]) -> list[Any]:
    """The instance, without each key, with each property set to odd values, plus an
    unknown key: enough to cross every keyword of a flat input schema."""
    out = [instance, {**instance, "no_such_field": 1}]
    for name in list(instance) + list(props):
        trimmed = {k: v for k, v in instance.items() if k != name}
        out.append(trimmed)
        out.extend({**trimmed, name: copy.deepcopy(odd)} for odd in ODD_VALUES)
    return out


def test_every_action_schema_agrees(pack: Pack) -> None:
    store = pack.schemas
    compiled = 0
    for spec in pack.actions.values():
        for schema, strict in ((spec.input, True), (spec.output, False)):
            if store.check(schema, strict=strict) is None:
                continue
            compiled += 1
            props = store.properties(schema)
            examples = [e for e in (spec.examples or []) if isinstance(e, dict)] or [{}]
            for example in examples if strict else [{}]:
                for instance in _mutations(example, props):
                    agree(store, schema, instance, strict=strict)
    # Every schema of the pack compiles, so the fast path is taken everywhere.
    assert compiled == 2 * len(pack.actions)


def test_data_that_is_not_json_gets_a_no_and_jsonschema_explains(tmp_path: Any) -> None:
    # YAML reads an `on:` key as the boolean True; jsonschema-rs takes only string keys.
    (tmp_path / "x.json").write_text("{}")
    store = SchemaStore(tmp_path)
    schema = {"type": "object", "propertyNames": {"type": "string"}}
    for strict in (False, True):
        check = store.check(schema, strict=strict)
        assert check is not None and check({True: 1}) is False
    assert store.errors(schema, {"on": 1}) == []
