"""The generated OpenAPI document: valid 3.1, and each action's schemas are its bodies."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from soarpack.pack import Pack
from soarpack.server.exposure import unserved_actions
from soarpack.server.openapi import build_openapi

DOC_URI = "urn:soarpack:openapi"


@pytest.fixture(scope="module")
def document(pack: Pack) -> dict[str, Any]:
    return build_openapi(pack)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for a schema inside the document, its local $refs resolving there."""
    registry: Registry[Any] = Registry().with_resource(
        DOC_URI, Resource.from_contents(document, DRAFT202012)
    )
    return Draft202012Validator({"$ref": f"{DOC_URI}{schema['$ref']}"}, registry=registry)


def _body_schema(operation: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = operation["requestBody"]["content"]["application/json"]["schema"]
    return schema


def test_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1.")
    validate(copy.deepcopy(document))


def test_every_action_has_a_describe_and_an_invoke_operation(
    document: dict[str, Any], pack: Pack
) -> None:
    unserved = unserved_actions(pack)
    for name, spec in pack.actions.items():
        if name in unserved:
            assert f"/actions/{name}" not in document["paths"]
            continue
        path = document["paths"][f"/actions/{name}"]
        assert set(path) == {"get", "post"}
        assert path["post"]["operationId"] == name
        assert path["post"]["x-side-effect"] == spec.side_effect
        assert path["post"].get("x-side-effect-reason") == spec.side_effect_reason
        assert {"400", "401", "403", "404", "429", "502", "504"} <= set(path["post"]["responses"])


def test_no_reference_leaves_the_document(document: dict[str, Any]) -> None:
    def refs(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
            return found + [r for v in value.values() for r in refs(v)]
        if isinstance(value, list):
            return [r for v in value for r in refs(v)]
        return []

    outside = [r for r in refs(document) if not r.startswith("#/components/")]
    assert outside == []


def test_examples_validate_against_the_request_bodies(document: dict[str, Any], pack: Pack) -> None:
    """The bundled copy of each input schema accepts the manifest's examples and refuses
    what the original refuses: the copy did not lose a rule on the way."""
    for name, spec in pack.actions.items():
        if name in unserved_actions(pack):
            continue
        validator = _validator(
            document, _body_schema(document["paths"][f"/actions/{name}"]["post"])
        )
        for example in spec.examples:
            assert list(validator.iter_errors(example)) == [], name
        wrong = {**spec.examples[0], "no_such_input": 1} if spec.examples else None
        if wrong is not None and pack.schemas.errors(spec.input, wrong):
            assert list(validator.iter_errors(wrong)), name


def test_playbooks_take_their_input_schema(document: dict[str, Any], pack: Pack) -> None:
    names = sorted(p.stem for p in pack.playbooks_dir.glob("*.yaml"))
    assert names
    for name in names:
        post = document["paths"][f"/playbooks/{name}/runs"]["post"]
        inputs = _body_schema(post)["properties"]["inputs"]
        assert inputs["$ref"].startswith("#/components/schemas/playbook.")
        assert "202" in post["responses"]


def test_errors_share_one_schema(document: dict[str, Any]) -> None:
    responses = document["components"]["responses"]
    for code in ("400", "401", "403", "404", "409", "413", "422", "429", "500", "502", "504"):
        schema = responses[code]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Error"}
    error = document["components"]["schemas"]["Error"]
    assert {"kind", "type", "message", "exit_code"} <= set(error["properties"]["error"]["required"])


def test_only_health_is_open(document: dict[str, Any]) -> None:
    assert document["security"] == [{"apiKey": []}]
    open_ops = [
        (path, method)
        for path, item in document["paths"].items()
        for method, op in item.items()
        if op.get("security") == []
    ]
    assert open_ops == [("/healthz", "get")]
