"""The worker's one task: `soarpack.invoke(body, signature)`, a signed invocation.

Before anything else the task is verified (signing.py): a message that is unsigned,
tampered with, signed for another task id, expired, or destructive with no approval
record is refused, logged, and answered with TaskRefused; no vendor is called. Then it
runs `Engine.invoke` in the worker process, with the worker's own configuration
(vendor credentials live with the workers; a task message carries only the action's
name and inputs), and returns wire data (wire.py). An error is a normal return value,
not a Celery failure, so Celery never retries anything by itself: retries are the
HTTP client's and the playbook step's, as in a local run.

Redelivery (messages are acknowledged late; see ledger.py for how a delivery is settled):
- a task whose result is stored returns it, and one running elsewhere is waited for;
- a read, or a dry run, started by a worker that died runs again;
- a write or destructive action started by a worker that died follows the playbook
  runner's in-doubt rule (soarpack/playbook/verify.py): with `verify` declared, the
  declared read decides: done -> success without sending (`meta.verified`), not done ->
  send again; with no `verify`, the answer is InDoubtError and nothing is sent.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from soarpack import errors
from soarpack.engine import ActionResult, Engine
from soarpack.manifest import ActionSpec
from soarpack.playbook.expressions import compile_value, resolve, truthy
from soarpack.workers import ledger as states
from soarpack.workers import signing, wire
from soarpack.workers.celeryapp import TASK_NAME
from soarpack.workers.ledger import TaskLedger

log = logging.getLogger("soarpack.workers")


def execute_signed(
    engine: Engine,
    ledger: TaskLedger,
    key: str,
    task_id: str,
    args: Any,
    kwargs: Mapping[str, Any] | None = None,
    *,
    worker: str = "",
    now: float | None = None,
) -> wire.Wire:
    """Verify the message, then run it (`execute`); a refusal is logged and returned."""
    try:
        task = signing.verify(key, task_id, args, kwargs, now=now)
        spec = engine.pack.action(task.action)
        refusal = signing.approval_refusal(spec, task.approval, task.dry_run)
        if refusal is not None:
            raise errors.TaskRefused(task_id, refusal)
        if spec.side_effect == "destructive" and task.approval:
            log.info("task %s (%s) allowed by %s", task_id, spec.name, _granted(task.approval))
    except errors.TaskRefused as refused:
        log.warning("refused task %s: %s; nothing was sent", _shown(task_id), refused.reason)
        return wire.failure(refused, worker=worker)
    except errors.SoarpackError as error:  # a verified task naming an unknown action
        return wire.failure(error, worker=worker)
    return execute(
        engine,
        ledger,
        task_id,
        task.action,
        task.inputs,
        task.timeout,
        task.dry_run,
        worker=worker,
    )


def _shown(task_id: str) -> str:
    """A task id as logged: the sender chose it, so it may not forge log lines."""
    return task_id if task_id.isprintable() and len(task_id) <= 80 else repr(task_id[:80])


def _granted(approval: Mapping[str, Any]) -> str:
    """The approval record in a log line: `approval (run=R step=S approver=J)`."""
    named = " ".join(f"{k}={v}" for k, v in sorted(approval.items()) if k != "granted")
    return f"{approval.get('granted')} ({named})"


def execute(
    engine: Engine,
    ledger: TaskLedger,
    task_id: str,
    action: str,
    inputs: Mapping[str, Any] | None,
    timeout_seconds: float | None = None,
    dry_run: bool = False,
    *,
    worker: str = "",
) -> wire.Wire:
    """Run (or settle a redelivery of) one task; always returns wire data."""
    # The deadline starts when the task starts: the coordinator waits this long plus
    # its queue margin, and monotonic clocks are not comparable across processes.
    deadline = time.monotonic() + timeout_seconds if timeout_seconds is not None else None
    meta: dict[str, Any] = {"worker": worker}
    try:
        spec = engine.pack.action(action)
    except errors.SoarpackError as error:
        return wire.failure(error, **meta)
    while True:
        state = ledger.acquire(task_id)
        if state == states.DONE:
            stored = ledger.stored(task_id)
            if stored is not None:
                # A late-acknowledged redelivery, or a resent copy: the same answer again.
                log.warning(
                    "task %s (%s) was delivered again after it finished: its stored result "
                    "is returned, nothing is sent",
                    task_id,
                    action,
                )
                return stored
        elif state == states.HELD:
            meta["redelivered"] = True
            ledger.wait_while_held(task_id)
        else:
            break
    with ledger.holding(task_id):
        if state == states.AGAIN:
            meta["redelivered"] = True
            log.warning("task %s (%s) was started by a worker that stopped", task_id, action)
        result = _run(engine, spec, task_id, dict(inputs or {}), deadline, dry_run, state, meta)
        ledger.finish(task_id, result)
    return result


def _run(
    engine: Engine,
    spec: ActionSpec,
    task_id: str,
    inputs: dict[str, Any],
    deadline: float | None,
    dry_run: bool,
    state: str,
    meta: dict[str, Any],
) -> wire.Wire:
    try:
        if state == states.AGAIN and spec.side_effect != "read" and not dry_run:
            verdict = _settle_doubt(engine, spec, task_id, inputs, deadline)
            if verdict is not None:
                meta["verified"] = verdict
                return wire.success(ActionResult(spec.name, None, 0.0), **meta)
        result = engine.invoke(spec.name, inputs, deadline=deadline, dry_run=dry_run)
        return wire.success(result, **meta)
    except errors.SoarpackError as error:
        return wire.failure(error, **meta)
    except Exception as error:  # the task is a boundary: a bug is reported, not retried
        log.exception("task %s (%s) failed", task_id, spec.name)
        return wire.internal(error, **meta)


def _settle_doubt(
    engine: Engine,
    spec: ActionSpec,
    task_id: str,
    inputs: dict[str, Any],
    deadline: float | None,
) -> dict[str, Any] | None:
    """A write whose earlier delivery died: its verification if that says it is done,
    None if it is not (send it again); InDoubtError if it cannot be known."""
    check = spec.verify
    if check is None:
        raise _in_doubt(task_id, spec.name, "and the action declares no verification.")
    try:
        read_inputs = resolve(compile_value(check.with_), {"inputs": inputs})
        try:
            observed: Any = engine.invoke(check.action, read_inputs, deadline=deadline).data
        except errors.NotFoundError:
            observed = None
        done = truthy(
            resolve(compile_value(check.done_when), {"inputs": inputs, "result": observed})
        )
    except errors.SoarpackError as error:
        raise _in_doubt(
            task_id, spec.name, f"and its verification by {check.action} failed: {error}"
        ) from None
    if not done:
        log.warning("task %s: %s not applied (verified); sending it again", task_id, spec.name)
        return None
    return {"verified": True, "by": check.action, "observed": observed}


def _in_doubt(task_id: str, action: str, why: str) -> errors.InDoubtError:
    error = errors.InDoubtError(task_id, [action])
    error.message = (
        f"{action} (task {task_id}) was started by a worker that stopped before its answer "
        f"was recorded: the change's outcome is unknown, {why}"
    )
    error.hint = "Check the vendor console, then send it again only if it was not applied."
    return error


def register(app: Any, engine: Engine, ledger: TaskLedger, key: str) -> Any:
    """Register the task on `app`, bound to this worker's engine, ledger and task key."""

    # Any arguments at all: whatever a message holds, verification refuses it in words
    # (and logs it) rather than Celery failing it on an argument mismatch.
    @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)  # type: ignore[untyped-decorator]
    def invoke(task: Any, *args: Any, **kwargs: Any) -> wire.Wire:
        return execute_signed(
            engine,
            ledger,
            key,
            str(task.request.id),
            list(args),
            kwargs,
            worker=str(task.request.hostname or ""),
        )

    return invoke
