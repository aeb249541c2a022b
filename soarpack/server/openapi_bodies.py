"""The server's own parts of its OpenAPI document: the bodies it always has (an error,
a run, a decision, a mark), the error responses by status code, and the helpers that
wrap a schema as a request body, a response or an operation. What the pack adds
(its actions' and playbooks' schemas) is copied in by openapi_bundle.py.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

# Status codes each kind of operation can answer with, besides its success.
ACTION_ERRORS = (
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
RUN_ERRORS = ("400", "401", "403", "404", "408", "409", "413", "429", "500", "503")
READ_ERRORS = ("401", "403", "404", "429", "500")

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


def components(bundled: dict[str, Schema]) -> dict[str, Any]:
    """The document's `components`: the key scheme, the server's own schemas and the
    pack's (`bundled`), and one response per error status."""
    return {
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
            **bundled,
        },
        "responses": {
            code: json_response(text, {"$ref": "#/components/schemas/Error"})
            for code, text in _ERROR_TEXT.items()
        },
    }


def result(output_ref: Schema) -> Schema:
    """The 200 body of an action call: its output (`output_ref`) with the call's meta."""
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


def health() -> dict[str, Any]:
    """GET /healthz: the one operation without a key and without error responses."""
    operation = simple(
        "health",
        "Liveness: answers without an API key.",
        {"type": "object", "properties": {"status": {"type": "string"}}},
    )
    operation["security"] = []
    operation["responses"] = {"200": operation["responses"]["200"]}
    return operation


def simple(
    operation_id: str, summary: str, schema: Schema, *, tags: list[str] | None = None
) -> dict[str, Any]:
    """An operation that answers 200 with `schema`, or one of the read errors."""
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": tags or ["server"],
        "responses": {"200": json_response(summary, schema), **error_refs(READ_ERRORS)},
    }


def error_refs(codes: tuple[str, ...]) -> dict[str, Any]:
    """References to the shared error responses of these status codes."""
    return {code: {"$ref": f"#/components/responses/{code}"} for code in codes}


def json_body(schema: Schema, *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def action_body(schema: Schema, required: bool) -> dict[str, Any]:
    """An action's request body: its inputs object. `required` exactly when the inputs
    refuse `{}`; the server takes no body as `{}`, so a body that may be left out is
    one whose inputs are all optional."""
    why = (
        "Required: the inputs have required fields."
        if required
        else "May be left out: no body is the same as `{}` (every input is optional)."
    )
    return {
        "description": f"The action's inputs, a JSON object. {why}",
        **json_body(schema, required=required),
    }


def json_response(description: str, schema: Schema) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


# OpenAPI path parameters hold no `/`; the server takes one encoded or not alike.
SUB_STEP = (
    "; a sub-playbook's step is PARENT/STEP (e.g. `sub/remove`), its slash sent as %2F "
    "or as a plain /"
)


def path_param(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }
