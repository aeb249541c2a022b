"""Conformance: a destructive action never runs without a target.

Every destructive action of the manifest is walked: `{}` and each of its targets left
empty (an empty id, an empty list, a list item with an empty id, an object without its
id) are refused with an InputError naming the field, and nothing reaches the transport.
Targets are read from the action's own input schema (what it requires, down through
lists and objects), so a new destructive action is covered without test code.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
import yaml

from soarpack import errors
from soarpack.checks import pack_problems
from soarpack.pack import Pack
from soarpack.schema_files import Schema
from soarpack.schemas import SchemaStore
from tests.conftest import REPO, EngineFactory, transport_for

PACK = Pack.load(REPO)
DESTRUCTIVE = sorted(name for name, a in PACK.actions.items() if a.side_effect == "destructive")


def emptied(
    store: SchemaStore, schema: Schema, base: str, value: Any, pointer: str
) -> Iterator[tuple[Any, str]]:
    """`value` with one required part made empty at a time, and the pointer of that part."""
    schema, base = store.resolve(schema, base)
    if isinstance(value, str):
        yield "", pointer
    elif isinstance(value, list):
        yield [], pointer
        if value:
            items = schema.get("items", {})
            for item, where in emptied(store, items, base, value[0], f"{pointer}/0"):
                yield [item, *value[1:]], where
    elif isinstance(value, dict):
        if pointer:
            yield {}, pointer
        for key in schema.get("required", []):
            if key in value:
                sub = schema.get("properties", {}).get(key, {})
                for part, where in emptied(store, sub, base, value[key], f"{pointer}/{key}"):
                    yield {**value, key: part}, where


def cases() -> Iterator[Any]:
    for name in DESTRUCTIVE:
        example = PACK.actions[name].examples[0]
        yield pytest.param(name, {}, "", id=f"{name}:{{}}")
        for value, where in emptied(PACK.schemas, PACK.actions[name].input, "", example, ""):
            yield pytest.param(name, value, where, id=f"{name}:{where or '/'}")


def test_there_are_destructive_actions_and_each_requires_a_target() -> None:
    assert len(DESTRUCTIVE) >= 30  # the audit of issue 17 made most changes destructive
    for name in DESTRUCTIVE:
        required = PACK.schemas.resolve(PACK.actions[name].input)[0].get("required", [])
        assert required, f"{name} requires no input"
        assert PACK.actions[name].side_effect_reason, f"{name} gives no reason"


@pytest.mark.parametrize(("name", "inputs", "pointer"), list(cases()))
def test_an_empty_target_is_bad_input_and_nothing_is_sent(
    name: str, inputs: dict[str, Any], pointer: str, make_engine: EngineFactory
) -> None:
    router = respx.Router(assert_all_called=False)
    engine = make_engine(transport_for(router), PACK.actions[name].connection)
    with pytest.raises(errors.InputError) as caught:
        engine.invoke(name, inputs)
    pointers = caught.value.fields
    if pointer:
        # The emptied field itself (or, for an emptied object, the id it must hold).
        assert any(p == pointer or p.startswith(f"{pointer}/") for p in pointers), pointers
    else:
        required = PACK.schemas.resolve(PACK.actions[name].input)[0]["required"]
        assert {f"/{field}" for field in required} <= set(pointers)
        assert all(e.rule == "required" for e in caught.value.errors)
    assert router.calls.call_count == 0, "nothing may reach the vendor"


@pytest.mark.parametrize(
    ("index_schema", "problem"),
    [
        pytest.param(None, "a destructive action must require its targets", id="not-required"),
        pytest.param(
            {"type": "string"},
            "a destructive action's target may not be empty (minLength/minItems 1)",
            id="may-be-empty",
        ),
    ],
)
def test_validate_reports_a_destructive_action_that_may_run_without_a_target(
    pack_copy: Path, index_schema: dict[str, Any] | None, problem: str
) -> None:
    manifest = pack_copy / "manifest.yaml"
    data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    schema = data["actions"]["netskope.client_status.delete"]["input"]
    if index_schema is None:
        del schema["required"]
    else:
        schema["properties"]["index"] = index_schema
    manifest.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    where = "actions.netskope.client_status.delete.input"
    if index_schema is not None:
        where += ".index"
    assert (where, problem) in pack_problems(Pack.load(pack_copy))
