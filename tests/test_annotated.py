"""Code names on the way out: the plan an action's output schema compiles to, and the one
way an unknown code is shown (kept, named null, flagged in `unknown_codes`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from soarpack import annotated
from soarpack.schemas import SchemaStore

STATUS = {"type": "integer", "x-enum-names": {"OPEN": 1, "CLOSED": 2, "DONE": 2}}
ALERT = {
    "type": "object",
    "properties": {
        "status": {"$ref": "enums.json#/$defs/status"},
        "status_name": {"type": "string"},
        "severity": {"type": "integer", "x-enum-names": {"LOW": 1}},  # no severity_name
        "notes": {"type": "array", "items": {"type": "string"}},
    },
}
OUTPUT = {
    "type": "object",
    "properties": {
        "alerts": {"type": "array", "items": {"$ref": "alert.json"}},
        "first": {"$ref": "alert.json"},
        "count": {"type": "integer"},
    },
}
# A tree: each node is named and has children of its own kind.
NODE = {
    "type": "object",
    "properties": {
        "status": STATUS,
        "status_name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "node.json"}},
    },
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> SchemaStore:
    root: Path = tmp_path_factory.mktemp("schemas")
    files = {"enums.json": {"$defs": {"status": STATUS}}, "alert.json": ALERT, "node.json": NODE}
    for name, contents in files.items():
        (root / name).write_text(json.dumps(contents))
    return SchemaStore(root)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            {"alerts": [{"status": 1}, {"status": 2}, {"status": 9}], "count": 3},
            {
                "alerts": [
                    {"status": 1, "status_name": "OPEN"},
                    {"status": 2, "status_name": "CLOSED"},  # the first name of 2
                    {"status": 9, "status_name": None},  # kept, never dropped
                ],
                "count": 3,
                # No object declares unknown_codes: the output lists them.
                "unknown_codes": [{"field": "alerts[2].status", "code": 9}],
            },
            id="list-items-through-refs",
        ),
        pytest.param(
            {"first": {"status": 1, "severity": 1, "notes": ["x"]}},
            {"first": {"status": 1, "status_name": "OPEN", "severity": 1, "notes": ["x"]}},
            id="no-label-declared-no-name",
        ),
        pytest.param(
            {"first": {"status": "1"}, "alerts": "not a list"},
            {"first": {"status": "1", "status_name": "OPEN"}, "alerts": "not a list"},
            id="decimal-text-is-named",
        ),
        pytest.param(
            {"first": {"status": "OPEN"}, "alerts": [{"status": True}, {"status": None}]},
            {
                "first": {"status": "OPEN", "status_name": None},
                "alerts": [
                    {"status": True, "status_name": None},
                    {"status": None, "status_name": None},
                ],
                "unknown_codes": [
                    {"field": "alerts[0].status", "code": True},
                    {"field": "first.status", "code": "OPEN"},
                ],
            },
            id="not-a-code-is-flagged-a-null-is-not",
        ),
        pytest.param({}, {}, id="nothing-present"),
    ],
)
def test_names_are_added_beside_numbers(
    store: SchemaStore, value: dict[str, Any], expected: dict[str, Any]
) -> None:
    before = json.loads(json.dumps(value))
    assert annotated.with_names(store, OUTPUT, value) == expected
    assert value == before  # the answer itself is not changed


def test_a_recursive_schema_is_named_at_every_depth(store: SchemaStore) -> None:
    tree = {"status": 1, "children": [{"status": 2, "children": [{"status": 3}]}]}
    named = annotated.with_names(store, {"$ref": "node.json"}, tree)
    assert named == {
        "status": 1,
        "status_name": "OPEN",
        "children": [
            {
                "status": 2,
                "status_name": "CLOSED",
                "children": [{"status": 3, "status_name": None}],
            }
        ],
        "unknown_codes": [{"field": "children[0].children[0].status", "code": 3}],
    }


def test_unknown_codes_are_listed_by_the_nearest_object_that_declares_them(
    store: SchemaStore,
) -> None:
    flags = {"type": "array"}
    record = {**NODE, "properties": {**NODE["properties"], "unknown_codes": flags}}
    record["properties"]["children"] = {"type": "array", "items": NODE}
    listing = {"type": "object", "properties": {"records": {"type": "array", "items": record}}}
    value = {"records": [{"status": 1}, {"status": 7, "children": [{"status": 8}]}]}
    assert annotated.with_names(store, listing, value) == {
        "records": [
            {"status": 1, "status_name": "OPEN"},
            {
                "status": 7,
                "status_name": None,
                "children": [{"status": 8, "status_name": None}],
                "unknown_codes": [
                    {"field": "children[0].status", "code": 8},
                    {"field": "status", "code": 7},
                ],
            },
        ]
    }


def test_a_schema_without_names_has_no_plan(store: SchemaStore) -> None:
    plain = {"type": "object", "properties": {"count": {"type": "integer"}}}
    assert annotated.names_plan(store, plain) is None
    assert annotated.with_names(store, plain, {"count": 1}) == {"count": 1}


def test_the_plan_visits_only_fields_that_lead_to_names(store: SchemaStore) -> None:
    plan = annotated.names_plan(store, OUTPUT)
    assert plan is not None
    assert sorted(plan.props) == ["alerts", "first"]
    first = plan.props["first"]
    assert [label for _, label, _ in first.labels] == ["status_name"]
    assert first.props == {}  # notes is an array of strings: nothing to visit


def test_the_plan_names_the_fields_no_object_flags_for(store: SchemaStore) -> None:
    """`soarpack validate` reports these: an unknown code there has no declared list."""
    plan = annotated.names_plan(store, OUTPUT)
    assert plan is not None and plan.unflagged() == ["alerts[].status", "first.status"]
    tree = annotated.names_plan(store, {"$ref": "node.json"})
    assert tree is not None and tree.unflagged() == ["children[].status", "status"]
    listing = {"type": "object", "properties": {"first": {"$ref": "alert.json"}}}
    declared = {**listing, "properties": {**listing["properties"], "unknown_codes": {}}}
    declaring = annotated.names_plan(store, declared)
    assert declaring is not None and declaring.unflagged() == []
