"""Why an instance breaks a schema, in plain words: jsonschema's errors turned into
field errors a person can act on (the field's JSON pointer, the rule, a short message).

jsonschema is imported on first use only: the fast check (soarpack.schema_fast_check)
answers every valid instance, and jsonschema's import alone took longer than a CLI
invocation's own work.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from soarpack.errors import QUOTE_LIMIT, FieldError, shortened
from soarpack.jsondata import pointer

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

# A schema's own message for its failing rule, shown instead of jsonschema's.
ERROR_KEY = "x-error"


@functools.cache
def jsonschema_classes() -> tuple[Any, Any]:
    """(Draft 2020-12 validator class, its strict variant, which refuses 2.0 where the
    schema says integer)."""
    from jsonschema import Draft202012Validator, validators

    strict = validators.extend(  # type: ignore[no-untyped-call]
        Draft202012Validator,
        type_checker=Draft202012Validator.TYPE_CHECKER.redefine(
            "integer",
            lambda _checker, value: isinstance(value, int) and not isinstance(value, bool),
        ),
    )
    return Draft202012Validator, strict


def field_errors(error: ValidationError) -> list[FieldError]:
    """Turn one jsonschema error into field errors a person can act on."""
    at = pointer(*error.absolute_path)
    rule = str(error.validator)
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance

    if rule == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return [FieldError(f"{at}/{missing}", "required", "is required")]
    if rule == "additionalProperties" and isinstance(instance, dict):
        allowed = set(schema.get("properties", {}))
        extra = sorted(k for k in instance if k not in allowed)
        return [
            FieldError(f"{at}/{k}", "additionalProperties", "is not a known field") for k in extra
        ]
    if rule in ("oneOf", "anyOf") and isinstance(instance, dict):
        # Name the fields that took part in the choice, so "timeperiod and starttime
        # together" points at both rather than at the whole input.
        involved = sorted(_required_names(schema.get(rule, [])) & set(instance))
        message = schema.get(ERROR_KEY) or "does not match exactly one of the allowed combinations"
        if rule == "anyOf":
            message = schema.get(ERROR_KEY) or "does not match any of the allowed combinations"
        if involved:
            given = ", ".join(f"`{n}`" for n in involved)
            return [FieldError(f"{at}/{n}", rule, f"{message} (given: {given})") for n in involved]
        return [FieldError(at, rule, f"{message} (none given)")]
    if rule == "enum":
        options = ", ".join(_json(o) for o in schema.get("enum", []))
        return [FieldError(at, rule, f"{_json(instance)} is not one of {options}")]
    if rule == "type":
        expected = schema.get("type")
        wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
        return [FieldError(at, rule, f"{_json(instance)} is not of type {wanted}")]
    if rule in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        words = {
            "minimum": "less than the minimum of",
            "maximum": "greater than the maximum of",
            "exclusiveMinimum": "not greater than",
            "exclusiveMaximum": "not less than",
        }[rule]
        return [FieldError(at, rule, f"{_json(instance)} is {words} {schema.get(rule)}")]
    if rule == "pattern" and ERROR_KEY not in schema:
        return [
            FieldError(at, rule, f"does not match the required pattern {schema.get('pattern')}")
        ]
    message = schema.get(ERROR_KEY) or _quoted_briefly(error.message, instance)
    return [FieldError(at, rule, str(message))]


def _quoted_briefly(message: str, instance: Any) -> str:
    """jsonschema's own message, with the instance it quotes in full (its repr: a
    100 KB string "is too long" quoted whole) shortened like our own messages."""
    quoted = repr(instance)
    if len(quoted) <= QUOTE_LIMIT:
        return message
    if quoted in message:
        return message.replace(quoted, _json(instance))
    return shortened(message, 2 * QUOTE_LIMIT)


def _json(value: Any) -> str:
    """A value as the user wrote it (JSON), shortened: messages never dump whole inputs."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _required_names(branches: list[Any]) -> set[str]:
    names: set[str] = set()
    for branch in branches:
        if isinstance(branch, dict):
            names.update(branch.get("required", []))
            for key in ("not", "anyOf", "allOf", "oneOf"):
                inner = branch.get(key)
                names |= _required_names(inner if isinstance(inner, list) else [inner])
    return names
