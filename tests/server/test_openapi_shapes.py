"""The schemas as the document publishes them: shapes code generators type, accepting
exactly what the pack's own schemas accept."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from soarpack.pack import Pack
from soarpack.server.exposure import unserved_actions
from soarpack.server.openapi import build_openapi
from soarpack.server.openapi_shapes import publish

DOC_URI = "urn:soarpack:openapi"
TIME_WINDOWS = ("netskope.alerts.list", "netskope.alerts.report")


@pytest.fixture(scope="module")
def document(pack: Pack) -> dict[str, Any]:
    return build_openapi(pack)


def _body(document: dict[str, Any], action: str) -> dict[str, Any]:
    body: dict[str, Any] = document["paths"][f"/actions/{action}"]["post"]["requestBody"]
    return body


def _accepts(document: dict[str, Any], action: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, DRAFT202012)
    )
    ref = _body(document, action)["content"]["application/json"]["schema"]["$ref"]
    return Draft202012Validator({"$ref": DOC_URI + ref}, registry=registry)


def _agree(document: dict[str, Any], pack: Pack, action: str, instances: list[Any]) -> None:
    """The published body and the pack's input schema take and refuse the same."""
    published = _accepts(document, action)
    spec = pack.actions[action]
    for instance in instances:
        assert published.is_valid(instance) == (not pack.schemas.errors(spec.input, instance)), (
            action,
            instance,
        )


def _schemas(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(s for v in value.values() for s in _schemas(v))]
    if isinstance(value, list):
        return [s for v in value for s in _schemas(v)]
    return []


def test_no_enum_mixes_types_and_every_array_has_items(document: dict[str, Any]) -> None:
    for schema in _schemas(document["components"]["schemas"]):
        values = schema.get("enum")
        if isinstance(values, list) and not isinstance(schema.get("properties"), dict):
            assert len({type(v) for v in values}) == 1, schema
        if schema.get("type") == "array":
            assert "items" in schema or "prefixItems" in schema, schema


def test_codes_and_names_are_one_enum_each(document: dict[str, Any], pack: Pack) -> None:
    action = "lacework_edge.tokens.update"
    status = document["components"]["schemas"][f"{action}.input"]["properties"]["status"]
    assert status["oneOf"] == [
        {"type": "integer", "enum": [0, 1, 2, 3, 4]},
        {"type": "string", "enum": ["INIT", "ACTIVE", "SUSPENDED", "DELETED"]},
    ]
    base = {"token_uuid": "ex-tokens-1"}
    if pack.schemas.errors(pack.actions[action].input, base):
        base = dict(pack.actions[action].examples[0])
    values = [0, 2, 4, 2.0, "ACTIVE", "DELETED", 5, -1, "active", "NOPE", True, None, [2]]
    _agree(document, pack, action, [{**base, "status": v} for v in values])
    assert _accepts(document, action).is_valid({**base, "status": "SUSPENDED"})
    assert not _accepts(document, action).is_valid({**base, "status": True})


@pytest.mark.parametrize("action", TIME_WINDOWS)
def test_the_time_window_is_a_choice_of_whole_bodies(
    document: dict[str, Any], pack: Pack, action: str
) -> None:
    schemas = document["components"]["schemas"]
    choice = schemas[f"{action}.input"]["oneOf"]
    names = [ref["$ref"].rsplit("/", 1)[1] for ref in choice]
    assert names == [
        f"{action}.input.timeperiod",
        f"{action}.input.starttime_endtime",
        f"{action}.input.insertionstarttime_insertionendtime",
    ]
    for name in names:
        assert schemas[name]["type"] == "object"
        assert schemas[name]["additionalProperties"] is False
    assert set(schemas[names[0]]["properties"]).isdisjoint({"starttime", "insertionendtime"})
    assert {"timeperiod"} <= set(schemas[names[0]]["required"])
    windows: list[dict[str, Any]] = [
        {"timeperiod": 86400},
        {"timeperiod": 86400.0},
        {"starttime": 1700000000, "endtime": 1700003600},
        {"insertionstarttime": 1700000000, "insertionendtime": 1700003600},
        {},
        {"starttime": 1700000000},
        {"timeperiod": 86400, "starttime": 1700000000},
        {"timeperiod": 86400, "insertionstarttime": 1, "insertionendtime": 2},
        {"starttime": 1, "endtime": 2, "insertionstarttime": 1, "insertionendtime": 2},
        {"timeperiod": 12345},
        {"timeperiod": 86400, "no_such_input": 1},
    ]
    extra = [{**w, "limit": 5} for w in windows] + [{**w, "limit": 0} for w in windows]
    _agree(document, pack, action, windows + extra)
    assert _body(document, action)["required"] is True


def test_one_of_event_type_or_alert_type(document: dict[str, Any], pack: Pack) -> None:
    action = "netskope.dataexport.fetch_page"
    assert len(document["components"]["schemas"][f"{action}.input"]["oneOf"]) == 2
    index = {"index": "soarpack-test"}
    _agree(
        document,
        pack,
        action,
        [
            {**index, "event_type": "page"},
            {**index, "alert_type": "dlp"},
            {**index, "event_type": "page", "alert_type": "dlp"},
            index,
            {"event_type": "page"},
            {**index, "event_type": "page", "operation": "head"},
            {**index, "alert_type": "dlp", "operation": 1700000000},
        ],
    )


def test_a_body_is_required_exactly_when_the_inputs_refuse_no_body(
    document: dict[str, Any], pack: Pack
) -> None:
    served = [s for s in pack.actions.values() if s.name not in unserved_actions(pack)]
    for spec in served:
        body = _body(document, spec.name)
        assert body["required"] is bool(pack.schemas.errors(spec.input, {})), spec.name
        assert ("Required" if body["required"] else "May be left out") in body["description"]
    assert _body(document, "netskope.connection.test")["required"] is False
    assert _body(document, "lacework_edge.users.get")["required"] is True


def test_every_body_takes_and_refuses_what_its_action_does(
    document: dict[str, Any], pack: Pack
) -> None:
    """The manifest's examples, none, and each example less one input: the published
    schema and the pack's agree on every one."""
    for spec in pack.actions.values():
        if spec.name in unserved_actions(pack):
            continue
        instances: list[Any] = [{}, *spec.examples]
        for example in spec.examples:
            instances.extend({k: v for k, v in example.items() if k != key} for key in example)
        _agree(document, pack, spec.name, instances)


def test_a_choice_that_is_not_only_about_required_fields_is_left_as_it_is() -> None:
    joint = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"a": {}, "b": {}},
        "oneOf": [{"required": ["a"]}, {"not": {"required": ["a", "b"]}}],
    }
    assert publish({"x": joint}) == {"x": joint}


def test_an_annotating_reference_gives_way_to_the_keywords_beside_it() -> None:
    schemas = {
        "names": {"description": "1 OPEN, 2 CLOSED", "x-enum-names": {"OPEN": 1}},
        "status": {"$ref": "#/components/schemas/names", "enum": [1, 2, "OPEN", "CLOSED"]},
    }
    assert publish(schemas)["status"] == {
        "description": "1 OPEN, 2 CLOSED",
        "x-enum-names": {"OPEN": 1},
        "oneOf": [
            {"type": "integer", "enum": [1, 2]},
            {"type": "string", "enum": ["OPEN", "CLOSED"]},
        ],
    }
