"""The Lacework Edge operations the simulator serves, read from the pack's generated file.

`schemas/lacework_edge/operations.json` declares every operation of the vendor document
as an action: method and path template, which inputs travel in the query and which in
the body, the documented statuses, and input and output JSON schemas. The simulator's
routes, request validation and record shapes all come from it, so a regenerated file
changes the simulator with it. `assumed_enums.json` holds the numeric codes the pack and
the simulator share (alert status, investigation action types, workflow run status...).
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

__all__ = [
    "ENUMS_FILE",
    "OPERATIONS_FILE",
    "Operation",
    "enum_codes",
    "load_operations",
    "path_params",
    "singular",
    "skeleton",
]

OPERATIONS_FILE = "lacework_edge/operations.json"
ENUMS_FILE = "lacework_edge/assumed_enums.json"
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Fields soarpack adds to answers on its side (e.g. `status_name`); a tenant never sends them.
_ADDED_BY_PACK = "added by soarpack"
# Marks an input soarpack requires (non-empty) because its action is destructive.
TARGET_KEY = "x-target"

Schema = dict[str, Any]


def path_params(template: str) -> tuple[str, ...]:
    """The `{name}` parameters of a path template, in order."""
    return tuple(_PARAM.findall(template))


def singular(area: str) -> str:
    """`users` -> `user`, `policies` -> `policy`, `accesses` -> `access`: a record's wrapper key."""
    if area.endswith("ies"):
        return area[:-3] + "y"
    if area.endswith("sses"):
        return area[:-2]
    return area[:-1] if area.endswith("s") else area


@dataclass(frozen=True)
class Operation:
    """One action of operations.json, with its request validator compiled."""

    name: str  # lacework_edge.users.get
    method: str
    path: str
    query: tuple[str, ...]
    body: tuple[str, ...] | None
    responses: tuple[int, ...]
    side_effect: str
    input_schema: Schema = field(repr=False)
    output_schema: Schema = field(repr=False)
    examples: tuple[dict[str, Any], ...] = field(repr=False)
    _validator: Draft202012Validator = field(repr=False, compare=False)

    @property
    def short(self) -> str:
        """`users.get`: the name without the connection prefix."""
        return self.name.split(".", 1)[1]

    @property
    def area(self) -> str:
        return self.short.split(".")[0]

    @property
    def verb(self) -> str:
        return self.short.split(".", 1)[1]

    @property
    def path_params(self) -> tuple[str, ...]:
        return path_params(self.path)

    @property
    def writes(self) -> bool:
        return self.side_effect != "read"

    @property
    def success_status(self) -> int:
        """The first documented 2xx, or 200 when the document lists none."""
        return next((code for code in self.responses if 200 <= code < 300), 200)

    @property
    def documents_success_body(self) -> bool:
        return any(200 <= code < 300 for code in self.responses)

    def output_properties(self) -> dict[str, Schema]:
        props: dict[str, Schema] = self.output_schema.get("properties", {})
        return props

    def request_errors(self, instance: dict[str, Any]) -> str | None:
        """Why `instance` (query and body fields together) breaks the input schema, or None."""
        errors = sorted(self._validator.iter_errors(instance), key=_error_order)
        return _describe(errors[0]) if errors else None


def _error_order(error: ValidationError) -> tuple[int, str]:
    return (len(error.absolute_path), str(list(error.absolute_path)))


def _describe(error: ValidationError) -> str:
    where = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = _quoted_name(error.message)
        name = f"{where}.{missing}" if where else missing
        return f"{name}: is required"
    if error.validator == "additionalProperties":
        extra = _quoted_name(error.message)
        name = f"{where}.{extra}" if where else extra
        return f"{name}: is not a field of this request"
    return f"{where or 'body'}: {error.message}"


def _quoted_name(message: str) -> str:
    found = re.search(r"'([^']*)'", message)
    return found.group(1) if found else message


def _request_schema(action: dict[str, Any]) -> Schema:
    """The input schema minus the path parameters, which travel in the URL, and minus
    soarpack's own rule that a destructive action's targets are given and non-empty
    (`x-target`): the tenant answers what the vendor's document allows."""
    schema: Schema = copy.deepcopy(action["input"])
    _drop_target_rule(schema)
    http = action["http"]
    in_url = set(path_params(http["path"]))
    elsewhere = set(http.get("query") or []) | set(http.get("body") or [])
    if "required" in schema:
        schema["required"] = [name for name in schema["required"] if name not in in_url]
    for name in in_url - elsewhere:
        schema.get("properties", {}).pop(name, None)
    return schema


def _drop_target_rule(schema: Schema) -> None:
    props = schema.get("properties", {})
    for name, prop in props.items():
        if prop.pop(TARGET_KEY, False):
            prop.pop("minLength", None)
            prop.pop("minItems", None)
            prop.get("items", {}).pop("minLength", None)
            schema["required"] = [r for r in schema.get("required", []) if r != name]
        _drop_target_rule(prop)
        if isinstance(prop.get("items"), dict):
            _drop_target_rule(prop["items"])
    if schema.get("required") == []:
        del schema["required"]


def _operation(name: str, action: dict[str, Any]) -> Operation:
    http = action["http"]
    body = http.get("body")
    return Operation(
        name=name,
        method=http["method"].upper(),
        path=http["path"],
        query=tuple(http.get("query") or ()),
        body=tuple(body) if body is not None else None,
        responses=tuple(action["operation"]["responses"]),
        side_effect=action.get("side_effect", "read"),
        input_schema=action["input"],
        output_schema=action["output"],
        examples=tuple(action.get("examples") or ()),
        _validator=Draft202012Validator(_request_schema(action)),
    )


def _schemas_dir() -> Path:
    # Imported here: the pack loader is not needed until an app is built.
    from soarpack.pack import find_pack_dir

    return find_pack_dir() / "schemas"


@cache
def _load(schemas_dir: Path) -> tuple[dict[str, Operation], dict[str, dict[str, int]]]:
    raw = json.loads((schemas_dir / OPERATIONS_FILE).read_text(encoding="utf-8"))
    operations = {name: _operation(name, action) for name, action in raw["actions"].items()}
    enums_raw = json.loads((schemas_dir / ENUMS_FILE).read_text(encoding="utf-8"))
    enums = {key: dict(value["x-enum-names"]) for key, value in enums_raw["$defs"].items()}
    return operations, enums


def load_operations(schemas_dir: Path | None = None) -> dict[str, Operation]:
    """Every operation by full action name (`lacework_edge.users.get`). Cached."""
    return _load(schemas_dir or _schemas_dir())[0]


def enum_codes(kind: str, schemas_dir: Path | None = None) -> dict[str, int]:
    """Name -> code of one assumed enum: alert_status, investigation_action_type,
    incident_status, workflow_run_status or enum_status."""
    return dict(_load(schemas_dir or _schemas_dir())[1][kind])


def skeleton(schema: Schema, depth: int = 0) -> Any:
    """A value of `schema` with every declared field at its zero value (proto3 style).

    Objects get all their properties down to three levels (deeper objects are empty);
    arrays are empty and string-keyed maps `{}`. Fields soarpack itself adds are left out.
    """
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        if depth >= 3:
            return {}
        values = {
            key: skeleton(sub, depth + 1)
            for key, sub in schema.get("properties", {}).items()
            if _ADDED_BY_PACK not in str(sub.get("description", ""))
        }
        return {key: value for key, value in values.items() if value is not None}
    return {"array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(str(kind))
