"""CeleryEngine: an Engine whose invocations run on Celery workers.

The playbook runner (and the server) use it in place of Engine: the run, its journal
and its approvals stay in this process (the coordinator); each step and each
`for_each` item is one `soarpack.invoke` task. Inputs are validated here first, so bad
input never reaches a worker; the answer comes back as wire data and is rebuilt into
the ActionResult, or the very SoarpackError class, a local Engine would have given.

Waiting: an invocation with a deadline waits for its result until the deadline plus
`queue_margin` (the time a task may sit in the queue before a worker takes it; the
task's own deadline starts when it starts), one without until `result_timeout`. The
task is sent with the same expiry, so a task nobody waits for any more is never run.
Running out of time is a RequestTimeout, as a slow vendor would be.

Every task is signed with the task key (signing.py); the signed body says until when
it may run (the same wait), and a destructive call carries the approval it was
granted under (`Engine.invoke(..., approval=...)`), which is checked here first too.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import redis
from celery.exceptions import TimeoutError as CeleryTimeout
from kombu.exceptions import OperationalError

from soarpack import errors
from soarpack.config import Config
from soarpack.engine import ActionResult, Engine
from soarpack.http import errormap
from soarpack.pack import Pack
from soarpack.workers import signing, wire
from soarpack.workers.celeryapp import TASK_NAME, WorkerSettings, make_app


class CeleryEngine(Engine):
    """Engine(pack, config) whose `invoke` runs on a worker. `broker` (and optionally
    `result_backend`) override the config's `workers:` section."""

    def __init__(
        self,
        pack: Pack | None = None,
        config: Config | None = None,
        *,
        broker: str | None = None,
        result_backend: str | None = None,
        queue_margin: float | None = None,
        result_timeout: float | None = None,
        transports: Mapping[str, httpx.BaseTransport] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(pack, config, transports=transports, sleep=sleep)
        self.settings = WorkerSettings.from_config(
            self.config,
            broker=broker,
            result_backend=result_backend,
            queue_margin=queue_margin,
            result_timeout=result_timeout,
        )
        self._task_key = signing.task_key(self.config)
        _check_reachable(self.settings.broker)
        if self.settings.result_backend != self.settings.broker:
            _check_reachable(self.settings.result_backend)
        self.app = make_app(self.settings, name="soarpack-coordinator")
        # Who ran what, and how deliveries were settled: for logs, tests and benchmarks.
        self.ran_on: Counter[str] = Counter()
        self.redelivered = 0
        self.verified = 0
        self._counts = threading.Lock()

    def invoke(
        self,
        action: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        deadline: float | None = None,
        dry_run: bool = False,
        approval: Mapping[str, Any] | None = None,
    ) -> ActionResult:
        spec = self.pack.action(action)
        self.validate_inputs(spec, inputs)  # raises InputError here: nothing is sent
        # Fresh per attempt: a step's retry is a new task, a redelivery keeps its id.
        task_id = str(uuid.uuid4())
        refusal = signing.approval_refusal(spec, approval, dry_run)
        if refusal is not None:  # a worker would refuse it: say so before sending
            raise errors.TaskRefused(task_id, refusal)
        if deadline is not None:
            timeout: float | None = deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                raise errormap.FAILURES["deadline_before_send"].build(
                    f"{spec.name}: its time ran out before it was sent."
                )
            wait = float(timeout or 0) + self.settings.queue_margin
        else:
            timeout, wait = None, self.settings.result_timeout
        args = signing.sign(
            self._task_key,
            task_id,
            spec.name,
            inputs or {},
            timeout=timeout,
            dry_run=dry_run,
            lifetime=wait,
            approval=approval,
        )
        try:
            pending = self.app.send_task(TASK_NAME, args=args, task_id=task_id, expires=wait)
        except (OperationalError, redis.exceptions.ConnectionError) as exc:
            raise _unreachable(self.settings.broker, exc) from None
        # From here the task is on the broker: a worker may run it, whatever we see.
        try:
            data = pending.get(timeout=wait, propagate=False)
        except redis.exceptions.ConnectionError as exc:
            raise _unreachable(self.settings.result_backend, exc, sent=True) from None
        except CeleryTimeout:
            raise errormap.FAILURES["read_timeout"].build(
                f"{spec.name}: no worker answered within {wait:g} s (task {task_id}).",
                hint="Are workers running (`soarpack worker`) and reading the same broker?",
            ) from None
        if not isinstance(data, dict):  # a Celery failure: the task raised, or expired
            raise wire.WorkerTaskFailed(f"task {task_id} for {spec.name} failed: {data!r}")
        self._count(data.get("meta") or {})
        return wire.unwrap(data)

    def _count(self, meta: Mapping[str, Any]) -> None:
        with self._counts:
            self.ran_on[str(meta.get("worker") or "?")] += 1
            self.redelivered += bool(meta.get("redelivered"))
            self.verified += bool(meta.get("verified"))

    def close(self) -> None:
        super().close()
        self.app.close()


def _check_reachable(url: str) -> None:
    """Fail at once, and clearly, when Redis is not there (Celery would retry for long)."""
    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        raise _unreachable(url, exc) from None
    finally:
        client.close()


def _unreachable(url: str, exc: Exception, *, sent: bool = False) -> errors.CallError:
    """Redis could not be reached: before the task was queued (`refused`, nothing sent),
    or after (`answer_lost`: a worker may have run it). The row's name is the reason."""
    where = urlsplit(url)
    at = f"Redis at {where.hostname}:{where.port or 6379} ({type(exc).__name__})"
    if sent:
        return errormap.FAILURES["answer_lost"].build(
            f"The task was queued, but its answer could not be read back from {at}: "
            "a worker may have run it.",
            reason="answer_lost",
            hint="Check Redis (`soarpack redis serve`) and the run's outcome at the vendor "
            "before sending it again.",
        )
    return errormap.FAILURES["refused"].build(
        f"Cannot reach {at}.",
        reason="refused",
        hint="Start it (`soarpack redis serve`) or fix workers.broker / SOARPACK_BROKER_URL.",
    )
