"""The server's OpenAPI 3.1 document, generated from the manifest and the playbooks.

    /actions/<name>                  GET describes, POST invokes: the request body is the
                                     action's input schema, the 200 body wraps its output
    /playbooks/<name>/runs           POST starts a run with the playbook's input schema
    /runs/{run_id}, .../approvals/{step}, .../steps/{step}/mark-done, /actions, /healthz,
    /openapi.json

Each action and playbook gets a literal path, so its own schemas are its request and
response bodies (a single templated `/actions/{name}` could only say "any object").
This module lays out the paths; the pack's schemas are copied into the document by
openapi_bundle.py (and published in shapes code generators type, openapi_shapes.py),
and the server's own bodies and error responses are in openapi_bodies.py. Actions the
server does not serve (exposure.py) are left out. This is the whole document; each
caller is served the part its key may use (openapi_scope.py).
"""

from __future__ import annotations

from typing import Any

from soarpack.pack import Pack
from soarpack.playbook.validate import load_playbook
from soarpack.server.exposure import unserved_actions
from soarpack.server.openapi_bodies import (
    ACTION_ERRORS,
    RUN_ERRORS,
    SUB_STEP,
    Schema,
    action_body,
    components,
    error_refs,
    health,
    json_body,
    json_response,
    path_param,
    result,
    simple,
)
from soarpack.server.openapi_bundle import Bundle
from soarpack.server.runs import actions_used

OPENAPI_VERSION = "3.1.0"


def build_openapi(pack: Pack) -> dict[str, Any]:
    """The whole document for this pack (plain data, ready for json.dumps)."""
    bundle = Bundle(pack)
    paths: dict[str, Any] = {
        "/healthz": {"get": health()},
        "/openapi.json": {"get": simple("openapi", "This document.", {"type": "object"})},
        "/actions": {
            "get": simple(
                "listActions",
                "The actions this API key may call.",
                {"type": "array", "items": {"$ref": "#/components/schemas/CatalogueEntry"}},
            )
        },
    }
    unserved = unserved_actions(pack)
    for spec in sorted(pack.actions.values(), key=lambda s: s.name):
        if spec.name in unserved:
            continue
        input_ref = bundle.add(f"{spec.name}.input", spec.input)
        output_ref = bundle.add(f"{spec.name}.output", spec.output)
        paths[f"/actions/{spec.name}"] = {
            "get": simple(
                f"describe.{spec.name}",
                f"Describe {spec.name}: its schemas and side effect.",
                {"type": "object"},
                tags=[spec.vendor],
            ),
            "post": {
                "operationId": spec.name,
                "summary": spec.title,
                "description": spec.description,
                "tags": [spec.vendor],
                "x-side-effect": spec.side_effect,
                **(
                    {"x-side-effect-reason": spec.side_effect_reason}
                    if spec.side_effect_reason
                    else {}
                ),
                "requestBody": action_body(input_ref, needs_body(pack, spec.input)),
                "responses": {
                    "200": json_response(f"{spec.name} ran.", result(output_ref)),
                    **error_refs(ACTION_ERRORS),
                },
            },
        }
    for name, inputs, used in _playbooks(pack):
        inputs_ref = bundle.add(f"playbook.{name}.inputs", inputs)
        paths[f"/playbooks/{name}/runs"] = {
            "post": {
                "operationId": f"run.{name}",
                "summary": f"Start a run of the {name} playbook",
                "tags": ["playbooks"],
                # A key must be allowed every one of them to start a run (endpoints.py).
                "x-actions": used,
                "requestBody": json_body(
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "inputs": inputs_ref,
                            "dry_run": {"type": "boolean", "default": False},
                        },
                    },
                    required=False,
                ),
                "responses": {
                    "202": json_response(
                        "The run started; follow it at links.run.",
                        {"$ref": "#/components/schemas/RunStarted"},
                    ),
                    **error_refs(RUN_ERRORS),
                },
            }
        }
    run_id = path_param("run_id", "a run id, as returned when the run started")
    paths["/runs/{run_id}"] = {
        "get": {
            **simple(
                "getRun",
                "A run: status, steps, outputs and journal.",
                {"$ref": "#/components/schemas/Run"},
                tags=["playbooks"],
            ),
            "parameters": [run_id],
        }
    }
    paths["/runs/{run_id}/approvals/{step}"] = {
        "post": {
            "operationId": "decideApproval",
            "summary": "Approve or reject a step that waits for a person",
            "tags": ["playbooks"],
            "parameters": [run_id, path_param("step", "the id of the waiting step" + SUB_STEP)],
            "requestBody": json_body({"$ref": "#/components/schemas/Decision"}),
            "responses": {
                "200": json_response(
                    "The decision was recorded and the run goes on; or the same decision "
                    "was already recorded (`already_recorded`: true, nothing added). A "
                    "different decision already recorded is 409, naming it, who and when.",
                    {"type": "object"},
                ),
                **error_refs(RUN_ERRORS),
            },
        }
    }
    paths["/runs/{run_id}/steps/{step}/mark-done"] = {
        "post": {
            "operationId": "markStepDone",
            "summary": "Settle a step in doubt as done (checked on the tenant), never resending it",
            "tags": ["playbooks"],
            "parameters": [
                run_id,
                path_param("step", "the step in doubt, or STEP[ITEM]" + SUB_STEP),
            ],
            "requestBody": json_body({"$ref": "#/components/schemas/MarkDone"}),
            "responses": {
                "200": json_response(
                    "The mark was recorded; the run goes on. 409 if the step is not in "
                    "doubt or the run is being driven (the driver's pid is named).",
                    {"type": "object"},
                ),
                **error_refs(RUN_ERRORS),
            },
        }
    }
    return {
        "openapi": OPENAPI_VERSION,
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": f"{pack.manifest.pack.title} action server",
            "version": _version(),
            "description": pack.manifest.pack.description,
        },
        "security": [{"apiKey": []}],
        "paths": paths,
        "components": components(bundle.published()),
    }


def needs_body(pack: Pack, inputs: Schema) -> bool:
    """Whether an action's request body is required: its inputs refuse `{}` (what no
    body means to the server), i.e. some input, or one of a choice of inputs, is required."""
    return bool(pack.schemas.errors(inputs, {}))


def _playbooks(pack: Pack) -> list[tuple[str, Schema, list[str]]]:
    """Each playbook's name, input schema and the actions it may run (sub-playbooks'
    included)."""
    folder = pack.playbooks_dir
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.yaml")):
        book = load_playbook(path, pack)
        found.append((book.name, book.inputs, sorted(actions_used(book, pack))))
    return found


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("soarpack")
    except PackageNotFoundError:
        return "0+unknown"
