"""Action results and SoarpackErrors as JSON-safe data, and back.

What a worker task returns (and stores in Redis) is wire data, never a pickled object:

    {"ok": true,  "result": {action, data, duration_ms, dry_run, calls: [...]}, "meta": {...}}
    {"ok": false, "error": {"type": "RateLimitedError", "attrs": {...}}, "meta": {...}}
    {"ok": false, "internal": "ValueError: ..."}      a bug in the worker (not a SoarpackError)

An error keeps its class and every context attribute (status, retry_after, field
errors, problems...), so the coordinator re-raises the exact error a local Engine
would have raised and the runner's retry policy and the exit code table see no
difference. Everything is redacted on the worker, whose process knows the vendor
credentials: no secret ever reaches the broker or the result back end.

`meta` says who ran it (`worker`) and how the delivery was settled: `redelivered`
(a previous delivery of the same task started it) and `verified` (a write's outcome
was confirmed by the action's `verify` read instead of being sent again).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from soarpack import errors
from soarpack.engine import ActionResult
from soarpack.http.invocation import CallRecord
from soarpack.redact import redact_data

Wire = dict[str, Any]

# Attributes holding structured values: how to rebuild them from their JSON form.
# Everything else an error carries is plain JSON (str, int, float, None, lists of str).
_NESTED: dict[tuple[type[errors.SoarpackError], str], Callable[[Any], Any]] = {
    (errors.InputError, "errors"): lambda items: [errors.FieldError(**i) for i in items],
    (errors.PackError, "problems"): lambda items: [tuple(i) for i in items],
    (errors.PlaybookInvalid, "problems"): lambda items: [
        errors.PlaybookProblem(**i) for i in items
    ],
}


class WorkerTaskFailed(RuntimeError):
    """A worker hit a bug (not a SoarpackError) running the action: an internal error,
    as the same bug would be in a local run."""


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def error_to_wire(error: errors.SoarpackError) -> Wire:
    """The error's class name and attributes (redacted), enough to rebuild it."""
    attrs = {k: _plain(v) for k, v in vars(error).items() if not k.startswith("_")}
    return {"type": type(error).__name__, "attrs": redact_data(attrs)}


def error_from_wire(data: Wire) -> errors.SoarpackError:
    """The same error class with the same attributes; its constructor is not called, so
    its message stays the one the worker wrote (no re-formatting)."""
    cls = _error_class(str(data.get("type")))
    attrs = dict(data.get("attrs") or {})
    error = cls.__new__(cls)
    message = str(attrs.get("message", ""))
    Exception.__init__(error, message)
    for name, value in attrs.items():
        rebuild = _nested(cls, name)
        setattr(error, name, rebuild(value) if rebuild is not None else value)
    error.message = message
    error.hint = attrs.get("hint")
    return error


def _error_class(name: str) -> type[errors.SoarpackError]:
    """Only the classes of soarpack.errors: a wire message names a class, it never
    chooses arbitrary code to run."""
    found = getattr(errors, name, None)
    if isinstance(found, type) and issubclass(found, errors.SoarpackError):
        return found
    return errors.SoarpackError


def _nested(cls: type[errors.SoarpackError], name: str) -> Callable[[Any], Any] | None:
    for (owner, attr), rebuild in _NESTED.items():
        if attr == name and issubclass(cls, owner):
            return rebuild
    return None


def result_to_wire(result: ActionResult) -> Wire:
    body = {
        "action": result.action,
        "data": result.data,
        "duration_ms": result.duration_ms,
        "dry_run": result.dry_run,
        "calls": [c.to_dict() for c in result.calls],
    }
    out: Wire = redact_data(body)
    return out


def result_from_wire(data: Wire) -> ActionResult:
    return ActionResult(
        action=str(data["action"]),
        data=data.get("data"),
        duration_ms=float(data.get("duration_ms") or 0.0),
        calls=[CallRecord(**c) for c in data.get("calls") or []],
        dry_run=bool(data.get("dry_run")),
    )


def success(result: ActionResult, **meta: Any) -> Wire:
    return {"ok": True, "result": result_to_wire(result), "meta": meta}


def failure(error: errors.SoarpackError, **meta: Any) -> Wire:
    return {"ok": False, "error": error_to_wire(error), "meta": meta}


def internal(error: BaseException, **meta: Any) -> Wire:
    text = redact_data(f"{type(error).__name__}: {error}")
    return {"ok": False, "internal": text, "meta": meta}


def unwrap(data: Wire) -> ActionResult:
    """The ActionResult the wire data holds, or raise the error it holds."""
    if data.get("ok"):
        return result_from_wire(data["result"])
    if "error" in data:
        raise error_from_wire(data["error"])
    raise WorkerTaskFailed(f"a worker failed to run the action: {data.get('internal')}")
