"""Request bodies: JSON objects only, checked field by field, never echoed.

A body that is not JSON, or not an object, is an InputError naming the problem (no
part of the body is quoted: it may hold anything); so is one with repeated keys, nesting
deeper than 64 levels or a string that is not UTF-8. An empty body is an empty object:
SOAR platforms often POST nothing to an action without inputs.
"""

from __future__ import annotations

from typing import Any, cast

from soarpack.errors import FieldError, InputError
from soarpack.jsondata import decode_object, pointer


def json_object(raw: bytes, where: str) -> dict[str, Any]:
    """The body as a JSON object (empty body: {}), or InputError; never echoes the body.
    Decoded by the one strict decoder the CLI uses too (soarpack.jsondata)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        why = f"the request body is not valid JSON: not UTF-8 (bad byte at offset {exc.start})"
        raise InputError(where, [FieldError("", "json", why)]) from None
    return decode_object(text, where, "the request body")


def _unknown_fields(body: dict[str, Any], known: set[str]) -> list[FieldError]:
    return [
        FieldError(pointer(k), "additionalProperties", "is not a known field")
        for k in sorted(set(body) - known)
    ]


def run_request(body: dict[str, Any], name: str) -> tuple[dict[str, Any], bool]:
    """{"inputs": {...}, "dry_run": false} from a run request's body."""
    problems = _unknown_fields(body, {"inputs", "dry_run"})
    inputs = body.get("inputs", {})
    if not isinstance(inputs, dict):
        problems.append(FieldError("/inputs", "type", "must be an object"))
    dry_run = body.get("dry_run", False)
    if not isinstance(dry_run, bool):
        problems.append(FieldError("/dry_run", "type", "must be a boolean"))
    if problems:
        raise InputError(f"playbook {name}", problems)
    return inputs, dry_run


def decision(body: dict[str, Any]) -> tuple[bool, str, str | None]:
    """{"approve": bool, "by": str, "reason": str | null} from an approval's body."""
    problems = _unknown_fields(body, {"approve", "by", "reason"})
    approved = body.get("approve")
    if not isinstance(approved, bool):
        problems.append(FieldError("/approve", "type", "is required, true or false"))
    by = body.get("by")
    if not isinstance(by, str) or not by.strip():
        problems.append(FieldError("/by", "type", "is required: who decides"))
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        problems.append(FieldError("/reason", "type", "must be a string or null"))
    if problems:
        raise InputError("approval", problems)
    return cast(bool, approved), cast(str, by), reason


def mark_request(body: dict[str, Any]) -> tuple[str, str]:
    """{"by": str, "reason": str} from a mark-done request's body."""
    problems = _unknown_fields(body, {"by", "reason"})
    by = body.get("by")
    if not isinstance(by, str) or not by.strip():
        problems.append(FieldError("/by", "type", "is required: who checked the tenant"))
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        problems.append(FieldError("/reason", "type", "is required: what they found"))
    if problems:
        raise InputError("mark-done", problems)
    return cast(str, by), cast(str, reason)
