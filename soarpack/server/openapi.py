"""The server's OpenAPI 3.1 document, generated from the manifest and the playbooks.

    /actions/<name>                  GET describes, POST invokes: the request body is the
                                     action's input schema, the 200 body wraps its output
    /playbooks/<name>/runs           POST starts a run with the playbook's input schema
    /runs/{run_id}, .../approvals/{step}, .../steps/{step}/mark-done, /actions, /healthz,
    /openapi.json

Each action and playbook gets a literal path, so its own schemas are its request and
response bodies (a single templated `/actions/{name}` could only say "any object").
Schemas the manifest reaches through `$ref` into `schemas/` are copied once into
`components/schemas` and the references rewritten, so the document stands alone.
Errors share one schema and one set of responses. Actions the server does not serve
(exposure.py) are left out.
"""

from __future__ import annotations

import copy
import re
from typing import Any
from urllib.parse import urljoin

from soarpack.pack import Pack
from soarpack.playbook.validate import load_playbook
from soarpack.server.exposure import unserved_actions

Schema = dict[str, Any]

OPENAPI_VERSION = "3.1.0"

# Status codes each kind of operation can answer with, besides its success.
_ACTION_ERRORS = (
    "400",
    "401",
    "403",
    "404",
    "408",
    "409",
    "413",
    "422",
    "429",
    "500",
    "502",
    "504",
)
_RUN_ERRORS = ("400", "401", "403", "404", "408", "409", "413", "429", "500", "503")
_READ_ERRORS = ("401", "403", "404", "429", "500")

_ERROR_TEXT = {
    "400": "Bad input: the body is not JSON, or it breaks the schema (fields listed); nothing was sent.",
    "401": "No API key, or an unknown one.",
    "403": "The API key's scope does not allow this.",
    "404": "Unknown action, playbook, run or step; or the vendor said the object does not exist.",
    "409": "Conflict: the vendor refused a change that conflicts; or the run is being driven "
    "(its pid named), finished, not waiting, or the step holds another decision (named).",
    "408": "The request body did not arrive within the server's body timeout.",
    "413": "The request body is larger than the server accepts.",
    "422": "The vendor refused the request's content.",
    "429": "Rate limited (this key's limit, or the vendor's after all retries); see Retry-After.",
    "500": "The server is misconfigured or hit a bug; the error names which.",
    "502": "The vendor answered with an error, or an answer that is not usable.",
    "503": "The server is shutting down and starts no new run.",
    "504": "The vendor did not answer within the action timeout.",
}

ERROR_SCHEMA: Schema = {
    "type": "object",
    "required": ["error", "request_id"],
    "properties": {
        "request_id": {"type": "string"},
        "error": {
            "type": "object",
            "required": ["kind", "type", "message", "exit_code"],
            "properties": {
                "kind": {"type": "string", "description": "the class of problem"},
                "type": {"type": "string", "description": "the error class name"},
                "message": {"type": "string"},
                "hint": {"type": "string"},
                "exit_code": {"type": "integer", "description": "what the CLI would exit with"},
                "errors": {
                    "type": "array",
                    "description": "each failing input field",
                    "items": {
                        "type": "object",
                        "required": ["pointer", "rule", "message"],
                        "properties": {
                            "pointer": {"type": "string", "description": "JSON pointer"},
                            "rule": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
                "status": {"type": ["integer", "null"], "description": "the vendor's status"},
                "vendor_message": {"type": ["string", "null"]},
                "retry_after": {"type": ["number", "null"]},
                "attempts": {"type": "integer"},
                "processed": {
                    "type": ["boolean", "null"],
                    "description": "false: the vendor did not process the request, so sending "
                    "it again repeats nothing; null: it may have; true: it answered for good",
                },
            },
        },
    },
}

_CALL_RECORD: Schema = {
    "type": "object",
    "description": "one HTTP call the invocation made (credentials redacted)",
}

_RUN_STARTED: Schema = {
    "type": "object",
    "required": ["run_id", "status"],
    "properties": {
        "run_id": {"type": "string"},
        "status": {"type": "string"},
        "links": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}

_RUN: Schema = {
    "type": "object",
    "required": ["run_id", "status", "steps", "events"],
    "properties": {
        "run_id": {"type": "string"},
        "playbook": {"type": ["string", "null"]},
        "status": {
            "type": "string",
            "description": "running, waiting, in_doubt, succeeded, failed or interrupted",
        },
        "started_at": {"type": ["string", "null"]},
        "dry_run": {"type": "boolean"},
        "steps": {"type": "object", "additionalProperties": {"type": "object"}},
        "inputs": {},
        "events": {"type": "array", "items": {"type": "object"}},
    },
}

_DECISION: Schema = {
    "type": "object",
    "required": ["approve", "by"],
    "additionalProperties": False,
    "properties": {
        "approve": {"type": "boolean"},
        "by": {"type": "string", "minLength": 1, "description": "who decided"},
        "reason": {"type": ["string", "null"], "description": "why"},
    },
}

_MARK: Schema = {
    "type": "object",
    "required": ["by", "reason"],
    "additionalProperties": False,
    "properties": {
        "by": {"type": "string", "minLength": 1, "description": "who checked the tenant"},
        "reason": {"type": "string", "minLength": 1, "description": "what they found"},
    },
}

_CATALOGUE_ENTRY: Schema = {
    "type": "object",
    "required": ["name", "title", "side_effect"],
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "connection": {"type": "string"},
        "side_effect": {"type": "string", "enum": ["read", "write", "destructive"]},
    },
}


def build_openapi(pack: Pack) -> dict[str, Any]:
    """The whole document for this pack (plain data, ready for json.dumps)."""
    bundle = _Bundle(pack)
    paths: dict[str, Any] = {
        "/healthz": {"get": _health()},
        "/openapi.json": {"get": _simple("openapi", "This document.", {"type": "object"})},
        "/actions": {
            "get": _simple(
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
            "get": _simple(
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
                "requestBody": _json_body(input_ref),
                "responses": {
                    "200": _json_response(f"{spec.name} ran.", _result(output_ref)),
                    **_errors(_ACTION_ERRORS),
                },
            },
        }
    for name, inputs in _playbook_inputs(pack):
        inputs_ref = bundle.add(f"playbook.{name}.inputs", inputs)
        paths[f"/playbooks/{name}/runs"] = {
            "post": {
                "operationId": f"run.{name}",
                "summary": f"Start a run of the {name} playbook",
                "tags": ["playbooks"],
                "requestBody": _json_body(
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
                    "202": _json_response(
                        "The run started; follow it at links.run.",
                        {"$ref": "#/components/schemas/RunStarted"},
                    ),
                    **_errors(_RUN_ERRORS),
                },
            }
        }
    run_id = _path_param("run_id", "a run id, as returned when the run started")
    paths["/runs/{run_id}"] = {
        "get": {
            **_simple(
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
            "parameters": [run_id, _path_param("step", "the id of the waiting step" + _SUB_STEP)],
            "requestBody": _json_body({"$ref": "#/components/schemas/Decision"}),
            "responses": {
                "200": _json_response(
                    "The decision was recorded and the run goes on; or the same decision "
                    "was already recorded (`already_recorded`: true, nothing added). A "
                    "different decision already recorded is 409, naming it, who and when.",
                    {"type": "object"},
                ),
                **_errors(_RUN_ERRORS),
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
                _path_param("step", "the step in doubt, or STEP[ITEM]" + _SUB_STEP),
            ],
            "requestBody": _json_body({"$ref": "#/components/schemas/MarkDone"}),
            "responses": {
                "200": _json_response(
                    "The mark was recorded; the run goes on. 409 if the step is not in "
                    "doubt or the run is being driven (the driver's pid is named).",
                    {"type": "object"},
                ),
                **_errors(_RUN_ERRORS),
            },
        }
    }
    components: dict[str, Any] = {
        "securitySchemes": {
            "apiKey": {
                "type": "http",
                "scheme": "bearer",
                "description": "An API key from the server's configuration (`server.keys`).",
            }
        },
        "schemas": {
            "Error": ERROR_SCHEMA,
            "CallRecord": _CALL_RECORD,
            "CatalogueEntry": _CATALOGUE_ENTRY,
            "RunStarted": _RUN_STARTED,
            "Run": _RUN,
            "Decision": _DECISION,
            "MarkDone": _MARK,
            **bundle.schemas,
        },
        "responses": {
            code: _json_response(text, {"$ref": "#/components/schemas/Error"})
            for code, text in _ERROR_TEXT.items()
        },
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
        "components": components,
    }


class _Bundle:
    """Copies schemas into components, turning file references into local ones."""

    def __init__(self, pack: Pack) -> None:
        self.store = pack.schemas
        self.schemas: dict[str, Schema] = {}
        self._names: dict[str, str] = {}  # absolute ref -> component name

    def add(self, name: str, schema: Schema) -> Schema:
        """Register `schema` (relative to schemas/) as a component; returns a $ref to it."""
        key = self._free(_component_name(name))
        self.schemas[key] = self._rewrite(schema, "")
        return {"$ref": f"#/components/schemas/{key}"}

    def _rewrite(self, value: Any, base: str) -> Any:
        if isinstance(value, list):
            return [self._rewrite(v, base) for v in value]
        if not isinstance(value, dict):
            return value
        out = {k: self._rewrite(v, base) for k, v in value.items() if k not in ("$id", "$schema")}
        ref = value.get("$ref")
        if isinstance(ref, str):
            out["$ref"] = self._component_ref(urljoin(base, ref))
        return out

    def _component_ref(self, absolute: str) -> str:
        name = self._names.get(absolute)
        if name is None:
            document, _, pointer = absolute.partition("#")
            name = self._free(
                _component_name(
                    document.removesuffix(".json").replace("/", ".")
                    + "."
                    + ".".join(p for p in pointer.split("/") if p and p != "$defs")
                )
            )
            self._names[absolute] = name
            target = self.store.registry.resolver(base_uri="").lookup(absolute).contents
            # Registered before rewriting its insides, so a schema that refers to
            # itself (directly or through others) ends instead of recursing.
            self.schemas[name] = {}
            self.schemas[name] = self._rewrite(copy.deepcopy(target), document)
        return f"#/components/schemas/{name}"

    def _free(self, name: str) -> str:
        """`name`, or `name_2`, `name_3`...: two sources never share a component."""
        found, n = name, 1
        while found in self.schemas:
            n += 1
            found = f"{name}_{n}"
        return found


def _component_name(text: str) -> str:
    # OpenAPI allows only these characters in component names.
    return re.sub(r"[^A-Za-z0-9._-]", "_", text.strip("."))


def _playbook_inputs(pack: Pack) -> list[tuple[str, Schema]]:
    folder = pack.playbooks_dir
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.yaml")):
        book = load_playbook(path, pack)
        found.append((book.name, book.inputs))
    return found


def _result(output_ref: Schema) -> Schema:
    return {
        "type": "object",
        "required": ["action", "ok", "data", "meta"],
        "properties": {
            "action": {"type": "string"},
            "ok": {"type": "boolean"},
            "dry_run": {"type": "boolean"},
            "data": output_ref,
            "meta": {
                "type": "object",
                "properties": {
                    "duration_ms": {"type": "number"},
                    "http_calls": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/CallRecord"},
                    },
                },
            },
        },
    }


def _health() -> dict[str, Any]:
    operation = _simple(
        "health",
        "Liveness: answers without an API key.",
        {"type": "object", "properties": {"status": {"type": "string"}}},
    )
    operation["security"] = []
    operation["responses"] = {"200": operation["responses"]["200"]}
    return operation


def _simple(
    operation_id: str, summary: str, schema: Schema, *, tags: list[str] | None = None
) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": tags or ["server"],
        "responses": {"200": _json_response(summary, schema), **_errors(_READ_ERRORS)},
    }


def _errors(codes: tuple[str, ...]) -> dict[str, Any]:
    return {code: {"$ref": f"#/components/responses/{code}"} for code in codes}


def _json_body(schema: Schema, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def _json_response(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# OpenAPI path parameters hold no `/`; the server takes one encoded or not alike.
_SUB_STEP = (
    "; a sub-playbook's step is PARENT/STEP (e.g. `sub/remove`), its slash sent as %2F "
    "or as a plain /"
)


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("soarpack")
    except PackageNotFoundError:
        return "0+unknown"
