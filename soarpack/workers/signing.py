"""Signed tasks: a worker acts only on what a coordinator holding the task key sent.

Anyone who can reach the broker can put a message on its queue, so a message proves
nothing by itself. A task's args are `[body, signature]`: `body` is the JSON text of
everything the worker acts on, `signature` the hex HMAC-SHA256 of that text under the
task key, which the coordinator and every worker share (`workers.task_key` or
SOARPACK_TASK_KEY; never inside a message). The signature is checked on the exact text
that was signed (hmac.compare_digest), before the body is even parsed; then the body
must name this task and this task id and be inside its time window. Only then is the
action looked at.

    {"v": 1, "task": "soarpack.invoke", "id": TASK_ID, "action": NAME, "inputs": {...},
     "timeout": SECONDS|null, "dry_run": false, "issued_at": EPOCH, "expires_at": EPOCH,
     "approval": {...}|null}

Replays. A message sent again under the same task id is settled by the task ledger
(ledger.py), as a genuine late-acknowledged redelivery is, and the two cannot be told
apart: a finished task's stored result is returned and nothing is sent; one running
elsewhere is waited for; an interrupted write is verified or stays in doubt. Under
another task id it is refused (the id is signed). After `expires_at` it is refused:
that is when the coordinator stops waiting (the step's timeout plus `queue_margin`,
or `result_timeout`), the same moment as Celery's own `expires`, because a write run
after its caller gave up would land after the run recorded it as timed out. A window
longer than the ledger keeps its records is refused, so every replay the window
admits is one the ledger still remembers. Clocks: `issued_at` may lie at most
MAX_CLOCK_SKEW_SECONDS in the worker's future; hosts are expected to run NTP.

Destructive tasks carry the approval they were granted under (GRANTS), inside the
signed body; a worker refuses one without it (a dry run needs none: it sends no write).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from soarpack.config import Config
from soarpack.errors import ConfigError, FieldError, InputError, TaskRefused
from soarpack.manifest import ActionSpec
from soarpack.redact import register_secret
from soarpack.workers.celeryapp import RESULT_TTL_SECONDS, TASK_NAME

TASK_KEY_ENV = "SOARPACK_TASK_KEY"
VERSION = 1
MIN_KEY_LENGTH = 32
MAX_CLOCK_SKEW_SECONDS = 60.0
# Bound into every signature, so a signature made for anything else never fits a task.
_DOMAIN = b"soarpack-task-v1\n"

# How a destructive call was allowed, and what its record must name.
#   approval        the step's own approval, decided by a person (journaled `approved`)
#   approval: none  the step declared none is needed (`validate` insists on saying so);
#                   `under` and `approver` name the approved upstream step, when there is one
#   api_key         the HTTP server: the id of the key whose scope allows destructive actions
GRANTS: dict[str, tuple[str, ...]] = {
    "approval": ("run", "step", "approver"),
    "approval: none": ("run", "step"),
    "api_key": ("api_key",),
}


def new_task_key() -> str:
    """A fresh task key: 32 random bytes, URL-safe text."""
    return secrets.token_urlsafe(32)


def task_key(config: Config) -> str:
    """The shared task key: `workers.task_key` (may be `${ENV_VAR}`), else SOARPACK_TASK_KEY."""
    found = config.setting("workers", "task_key") or config.env.get(TASK_KEY_ENV)
    if not found:
        raise ConfigError(
            "No task key is configured: the coordinator signs every task with it, and a "
            "worker refuses every task it cannot verify.",
            hint="Make one with `soarpack worker new-key` and give the same key to the "
            f"coordinator and every worker, as {TASK_KEY_ENV} or as workers.task_key "
            "(for instance `task_key: ${MY_TASK_KEY}`).",
        )
    key = str(found)
    register_secret(key)
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            f"The task key is too short (under {MIN_KEY_LENGTH} characters).",
            hint="Make one with `soarpack worker new-key`.",
        )
    return key


@dataclass(frozen=True)
class SignedTask:
    """A verified task body: what the worker may act on."""

    task_id: str
    action: str
    inputs: dict[str, Any]
    timeout: float | None
    dry_run: bool
    issued_at: float
    expires_at: float
    approval: dict[str, Any] | None


def sign(
    key: str,
    task_id: str,
    action: str,
    inputs: Mapping[str, Any],
    *,
    timeout: float | None,
    dry_run: bool,
    lifetime: float,
    approval: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> list[str]:
    """The task's args: [body, signature]. `lifetime`: how long the coordinator waits."""
    issued = time.time() if now is None else now
    body = {
        "v": VERSION,
        "task": TASK_NAME,
        "id": task_id,
        "action": action,
        "inputs": dict(inputs),
        "timeout": timeout,
        "dry_run": dry_run,
        "issued_at": round(issued, 3),
        "expires_at": round(issued + lifetime, 3),
        "approval": dict(approval) if approval is not None else None,
    }
    try:
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except ValueError:  # NaN or an infinity: JSON has no such number, a worker could not read it
        problem = FieldError(
            "", "json", "inputs hold NaN or an infinite number, which JSON cannot carry"
        )
        raise InputError(action, [problem]) from None
    return [text, signature(key, text)]


def signature(key: str, text: str) -> str:
    return hmac.new(key.encode(), _DOMAIN + _bytes(text), hashlib.sha256).hexdigest()


def _bytes(text: str) -> bytes:
    # A coordinator's body is ASCII (json.dumps escapes the rest); a forged one may hold
    # lone surrogates, which must be refused in words, not crash the encoder.
    return text.encode("utf-8", "surrogatepass")


def verify(
    key: str,
    task_id: str,
    args: Any,
    kwargs: Mapping[str, Any] | None = None,
    *,
    now: float | None = None,
) -> SignedTask:
    """The task the message holds, or TaskRefused saying why not."""
    if kwargs or not isinstance(args, (list, tuple)) or len(args) != 2:
        raise TaskRefused(task_id, "it is not signed (not a [body, signature] pair)")
    text, given = args
    if not isinstance(text, str) or not isinstance(given, str):
        raise TaskRefused(task_id, "it is not signed (not a [body, signature] pair)")
    if not hmac.compare_digest(signature(key, text).encode(), _bytes(given)):
        raise TaskRefused(
            task_id,
            "its signature does not match its body under this task key",
            hint="The coordinator and the workers must share one task key "
            f"(workers.task_key or {TASK_KEY_ENV}).",
        )
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("v") != VERSION:
        raise TaskRefused(task_id, "its body is not a task of this version")
    if body.get("task") != TASK_NAME or body.get("id") != task_id:
        raise TaskRefused(task_id, "it was signed for another task (a replay under a new id)")
    task = _parsed(task_id, body)
    clock = time.time() if now is None else now
    if task.issued_at > clock + MAX_CLOCK_SKEW_SECONDS:
        raise TaskRefused(task_id, "it was issued in the future (check the hosts' clocks)")
    if clock > task.expires_at:
        raise TaskRefused(
            task_id, f"it expired {clock - task.expires_at:.0f} s ago (a late replay)"
        )
    if task.expires_at - task.issued_at > RESULT_TTL_SECONDS:
        raise TaskRefused(task_id, "its window is longer than the task ledger remembers tasks")
    return task


def _parsed(task_id: str, body: dict[str, Any]) -> SignedTask:
    action, inputs, dry_run = body.get("action"), body.get("inputs"), body.get("dry_run")
    issued, expires = _number(body.get("issued_at")), _number(body.get("expires_at"))
    timeout, approval = body.get("timeout"), body.get("approval")
    if (
        not isinstance(action, str)
        or not isinstance(inputs, dict)
        or not isinstance(dry_run, bool)
        or issued is None
        or expires is None
        or (timeout is not None and _number(timeout) is None)
        or not (approval is None or isinstance(approval, dict))
    ):
        raise TaskRefused(task_id, "its body is malformed")
    return SignedTask(task_id, action, inputs, _number(timeout), dry_run, issued, expires, approval)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def approval_refusal(
    spec: ActionSpec, approval: Mapping[str, Any] | None, dry_run: bool
) -> str | None:
    """Why a call of `spec` may not run with this approval record, or None when it may."""
    if spec.side_effect != "destructive" or dry_run:
        return None
    if not approval:
        return f"{spec.name} is destructive and the task carries no approval record"
    needed = GRANTS.get(str(approval.get("granted")))
    if needed is None:
        return f"{spec.name} is destructive and its approval record names no known grant"
    missing = [
        name for name in needed if not isinstance(approval.get(name), str) or not approval[name]
    ]
    if missing:
        return f"{spec.name} is destructive and its approval record lacks {', '.join(missing)}"
    return None
