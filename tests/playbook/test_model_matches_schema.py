"""The playbook schema (schemas/playbook.schema.json) and the typed model that reads a
checked playbook (soarpack/playbook/model.py) declare the same keywords.

The schema is what a playbook file is checked against, and what its readers see; the
model is what the runner reads once the check passed. Each keyword is written in both, so
this test fails when they drift: a property in one and not the other, an alias, which
keywords are required, a default, the choices of an enum, or the JSON types a keyword
takes.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal

import pytest
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from soarpack import errors
from soarpack.playbook import model
from tests.conftest import REPO

SCHEMA: dict[str, Any] = json.loads(
    (REPO / "schemas" / "playbook.schema.json").read_text(encoding="utf-8")
)
STEP = SCHEMA["$defs"]["step"]
APPROVAL = next(b for b in STEP["properties"]["approval"]["oneOf"] if b.get("type") == "object")

# Each object definition of the schema, and the model that reads it.
PAIRS: list[tuple[str, dict[str, Any], type[BaseModel]]] = [
    ("step", STEP, model.StepSpec),
    ("step.retry", STEP["properties"]["retry"], model.RetrySpec),
    ("step.approval", APPROVAL, model.ApprovalSpec),
]
IDS = [name for name, _, _ in PAIRS]

# The JSON type of a Python value or annotation.
JSON_TYPE = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
    list: "array",
    tuple: "array",
    dict: "object",
}


def _fields(cls: type[BaseModel]) -> dict[str, FieldInfo]:
    """The model's fields by the keyword a playbook writes (the alias, if any)."""
    return {info.alias or name: info for name, info in cls.model_fields.items()}


def _resolve(prop: dict[str, Any]) -> dict[str, Any]:
    """`prop` with a local `$ref` followed, its own keywords kept over the target's."""
    ref = prop.get("$ref")
    if not isinstance(ref, str):
        return prop
    target: Any = SCHEMA
    for token in ref.removeprefix("#/").split("/"):
        target = target[token]
    return {**target, **{k: v for k, v in prop.items() if k != "$ref"}}


def _schema_types(prop: dict[str, Any]) -> set[str]:
    """The JSON types `prop` admits (an enum or const: the types of its values)."""
    prop = _resolve(prop)
    if "oneOf" in prop or "anyOf" in prop:
        return set().union(*(_schema_types(b) for b in prop.get("oneOf", prop.get("anyOf"))))
    if "const" in prop:
        return {_json_type(prop["const"])}
    if "enum" in prop:
        return {_json_type(v) for v in prop["enum"]}
    declared = prop.get("type")
    if declared is None:
        return set(JSON_TYPE.values()) - {"boolean", "null"}  # anything a YAML value is
    return set(declared) if isinstance(declared, list) else {declared}


def _json_type(value: Any) -> str:
    return JSON_TYPE[type(value)]


def _model_types(annotation: Any) -> set[str]:
    """The JSON types a field's annotation admits (a model is an object)."""
    if annotation is Any:
        return set(JSON_TYPE.values()) - {"boolean", "null"}
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_model_types(a) for a in typing.get_args(annotation)))
    if origin is Literal:
        return {_json_type(v) for v in typing.get_args(annotation)}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"object"}
    return {JSON_TYPE[origin or annotation]}


def _widened(found: set[str]) -> set[str]:
    """JSON Schema's number includes the integers; so does pydantic's float."""
    return found | {"integer"} if "number" in found else found


def _literals(annotation: Any) -> list[Any] | None:
    """The choices of the Literal in `annotation` (None: it has none)."""
    if typing.get_origin(annotation) is Literal:
        return list(typing.get_args(annotation))
    for arg in typing.get_args(annotation):
        found = _literals(arg)
        if found is not None:
            return found
    return None


def _enum(prop: dict[str, Any]) -> list[Any] | None:
    """The choices of an enum or const in `prop` (None: it has none)."""
    prop = _resolve(prop)
    if "enum" in prop:
        return list(prop["enum"])
    if "const" in prop:
        return [prop["const"]]
    for branch in prop.get("oneOf", []):
        found = _enum(branch)
        if found is not None:
            return found
    return None


def _model_default(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return info.default


@pytest.mark.parametrize(("name", "schema", "cls"), PAIRS, ids=IDS)
def test_the_same_keywords(name: str, schema: dict[str, Any], cls: type[BaseModel]) -> None:
    assert set(schema["properties"]) == set(_fields(cls)), name
    assert schema.get("additionalProperties") is False, f"{name}: unknown keywords refused"
    assert cls.model_config.get("extra") == "forbid", f"{name}: the model refuses them too"


@pytest.mark.parametrize(("name", "schema", "cls"), PAIRS, ids=IDS)
def test_the_same_keywords_are_required(
    name: str, schema: dict[str, Any], cls: type[BaseModel]
) -> None:
    required = {key for key, info in _fields(cls).items() if info.is_required()}
    assert set(schema.get("required", [])) == required, name


@pytest.mark.parametrize(("name", "schema", "cls"), PAIRS, ids=IDS)
def test_the_same_defaults(name: str, schema: dict[str, Any], cls: type[BaseModel]) -> None:
    for key, info in _fields(cls).items():
        prop = _resolve(schema["properties"][key])
        default = _model_default(info)
        if "default" in prop:
            wanted = prop["default"]
            got = list(default) if isinstance(default, tuple) else default
            assert got == wanted and type(got) in (type(wanted), float), (name, key)
        elif default is not PydanticUndefined:
            # A default the schema does not write must mean "not given".
            assert default in (None, "", {}, []), f"{name}.{key}: write its default in the schema"


@pytest.mark.parametrize(("name", "schema", "cls"), PAIRS, ids=IDS)
def test_the_same_choices(name: str, schema: dict[str, Any], cls: type[BaseModel]) -> None:
    for key, info in _fields(cls).items():
        assert _enum(schema["properties"][key]) == _literals(info.annotation), (name, key)


@pytest.mark.parametrize(("name", "schema", "cls"), PAIRS, ids=IDS)
def test_the_same_types(name: str, schema: dict[str, Any], cls: type[BaseModel]) -> None:
    for key, info in _fields(cls).items():
        wanted = _widened(_schema_types(schema["properties"][key]))
        got = _widened(_model_types(info.annotation))
        if not info.is_required():
            got -= {"null"}  # None stands for "not given", which the schema says by absence
        assert got == wanted, (name, key, got, wanted)


def test_the_retry_errors_are_classes_of_the_tree() -> None:
    names = STEP["properties"]["retry"]["properties"]["errors"]["items"]["enum"]
    for found in names:
        cls = getattr(errors, found, None)
        assert isinstance(cls, type) and issubclass(cls, errors.SoarpackError), found
    assert set(model.DEFAULT_RETRY_ERRORS) <= set(names)


def test_the_playbook_keywords_and_its_concurrency() -> None:
    fields = set(model.Playbook.__dataclass_fields__) - {"source"}
    assert set(SCHEMA["properties"]) == fields
    assert SCHEMA["properties"]["concurrency"]["default"] == model.DEFAULT_CONCURRENCY


def test_the_checker_notices_a_drift() -> None:
    """The comparisons above fail on a model that differs from its schema."""

    class Drifted(BaseModel):
        prompt: str
        timeout: float = 3600.0
        on_timeout: Literal["fail"] = "fail"

    timeout = _fields(Drifted)["timeout"]
    assert _model_default(timeout) != _resolve(APPROVAL["properties"]["timeout"])["default"]
    on_timeout = _fields(Drifted)["on_timeout"]
    assert _literals(on_timeout.annotation) != _enum(APPROVAL["properties"]["on_timeout"])
    assert _model_types(int | None) == {"integer", "null"}
