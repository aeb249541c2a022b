"""The Celery app: Redis as broker and result back end, JSON only, safe redelivery.

Settings come from the config file's `workers:` section (and SOARPACK_BROKER_URL):

    workers:
      broker: redis://127.0.0.1:6379/0      # or env SOARPACK_BROKER_URL
      result_backend: redis://...           # default: the broker
      visibility_timeout: 3600              # seconds; must exceed the longest action timeout
      queue_margin: 60                      # coordinator: how long a task may wait for a worker
      result_timeout: 3600                  # coordinator: wait for an action with no timeout
      task_key: ${SOARPACK_TASK_KEY}        # the shared signing key (signing.py)
      insecure_broker: false                # true: allow a broker off loopback without TLS/password

A broker (or result back end) off loopback needs a password in its URL and `rediss://`
(TLS that verifies the server): an open Redis on the network is a queue anyone can add
to and read from. `insecure_broker: true` lifts that, with a warning in the log.

Why these Celery settings:
- JSON only (never pickle): a message can only carry data, never code.
- `task_acks_late` + `task_reject_on_worker_lost`: a message is acknowledged once its
  task returned, so a worker killed mid-task leaves it on the broker, and Redis gives it
  to another worker once `visibility_timeout` has passed. That timeout must exceed the
  longest action, or a task still running is handed out a second time (the task's claim
  and lease in Redis keep a write from being sent twice even then, see ledger.py).
- `worker_prefetch_multiplier=1`: a worker holds no more messages than it has threads, so
  a killed worker strands as little work as possible and a slow item does not hold others.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from soarpack.config import Config
from soarpack.errors import ConfigError
from soarpack.redact import register_secret

BROKER_ENV = "SOARPACK_BROKER_URL"
TASK_NAME = "soarpack.invoke"
QUEUE = "soarpack"
DEFAULT_VISIBILITY_TIMEOUT = 3600.0
DEFAULT_QUEUE_MARGIN = 60.0
DEFAULT_RESULT_TIMEOUT = 3600.0
# Results (Celery's and the task ledger's) are kept this long for late readers.
RESULT_TTL_SECONDS = 24 * 3600
_LOCAL_SCHEMES = ("redis+socket://", "unix://")

log = logging.getLogger("soarpack.workers")


@dataclass(frozen=True)
class WorkerSettings:
    broker: str
    result_backend: str
    visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT
    queue_margin: float = DEFAULT_QUEUE_MARGIN
    result_timeout: float = DEFAULT_RESULT_TIMEOUT

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        broker: str | None = None,
        result_backend: str | None = None,
        **overrides: float | None,
    ) -> WorkerSettings:
        """Command-line values, then the `workers:` section, then SOARPACK_BROKER_URL."""
        section = config.section("workers")
        chosen = broker or config.setting("workers", "broker") or config.env.get(BROKER_ENV)
        if not chosen:
            where = f"{config.path}" if config.path else "a config file (--config)"
            raise ConfigError(
                "No Celery broker is configured.",
                hint=f"Pass --broker redis://HOST:PORT/0, set `workers.broker` in {where}, "
                f"or set {BROKER_ENV}. `soarpack redis serve` starts a local Redis.",
            )
        insecure = section.get("insecure_broker", False)
        if not isinstance(insecure, bool):
            raise ConfigError(f"workers.insecure_broker in {config.path} must be true or false.")
        _check_url(str(chosen), "broker", insecure)
        backend = str(result_backend or config.setting("workers", "result_backend") or chosen)
        if backend != chosen:
            _check_url(backend, "result_backend", insecure)
        numbers: dict[str, float] = {}
        for key in ("visibility_timeout", "queue_margin", "result_timeout"):
            value = overrides.get(key)
            value = section.get(key) if value is None else value
            if value is not None:
                numbers[key] = _positive(value, key, config)
        return cls(str(chosen), backend, **numbers)

    def celery_config(self) -> dict[str, Any]:
        transport = {
            "visibility_timeout": self.visibility_timeout,
            # Look for messages a dead worker left unacknowledged several times per
            # visibility timeout, so redelivery follows the timeout closely.
            "unacked_restore_interval": max(1, min(10, int(self.visibility_timeout // 3))),
            "unacked_restore_throttle": 1,
            # A worker killed while it held kombu's restore lock would block every
            # redelivery until the lock expires (5 minutes by default): keep it short.
            # Two restorers at once are harmless here: the task ledger settles duplicates.
            "unacked_mutex_expire": max(5, min(60, int(self.visibility_timeout // 3))),
        }
        return {
            "broker_url": self.broker,
            "result_backend": self.result_backend,
            "task_serializer": "json",
            "result_serializer": "json",
            "accept_content": ["json"],
            "result_accept_content": ["json"],
            "event_serializer": "json",
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "broker_transport_options": transport,
            "result_backend_transport_options": {"visibility_timeout": self.visibility_timeout},
            "result_expires": RESULT_TTL_SECONDS,
            "task_default_queue": QUEUE,
            "broker_connection_retry_on_startup": True,
            "worker_hijack_root_logger": False,
            "worker_redirect_stdouts": False,
            "task_track_started": False,
            "timezone": "UTC",
        }


def make_app(settings: WorkerSettings, name: str = "soarpack") -> Any:
    """A Celery app with these settings (imported here: Celery is an optional extra)."""
    try:
        from celery import Celery
    except ImportError:
        raise ConfigError(
            "Celery is not installed.", hint="Install soarpack with its `workers` extra."
        ) from None
    app = Celery(name, set_as_current=False)
    app.conf.update(settings.celery_config())
    return app


def _check_url(url: str, key: str, insecure: bool) -> None:
    # A password in the URL is a secret like any other: never in logs or errors.
    parts = urlsplit(url)
    register_secret(parts.password)
    if not url.startswith(("redis://", "rediss://", *_LOCAL_SCHEMES)):
        raise ConfigError(
            f"workers.{key} must be a Redis URL (redis://HOST:PORT/DB), not {url.split(':')[0]!r}."
        )
    if url.startswith(_LOCAL_SCHEMES) or _loopback(parts.hostname):
        return
    lacks = []
    if not parts.password:
        lacks.append("a password")
    verify = parse_qs(parts.query).get("ssl_cert_reqs", ["required"])[-1].lower()
    if parts.scheme != "rediss" or verify in ("none", "cert_none"):
        lacks.append("TLS that verifies the server (rediss://, ssl_cert_reqs=required)")
    if not lacks:
        return
    missing = " and without ".join(lacks)
    if insecure:
        log.warning(
            "workers.%s: %s is off this machine, without %s; insecure_broker is true, "
            "so anyone on that network may read the tasks and add their own",
            key, parts.hostname, missing,
        )  # fmt: skip
        return
    raise ConfigError(
        f"workers.{key} points off this machine ({parts.hostname}) without {missing}: "
        "anyone on that network could read the tasks and add their own.",
        hint="Use rediss://:PASSWORD@HOST:PORT/0?ssl_cert_reqs=required, or set "
        "workers.insecure_broker: true on a network you trust (logged as a warning).",
    )


def _loopback(host: str | None) -> bool:
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost: not resolved, so not trusted


def _positive(value: Any, key: str, config: Config) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if number <= 0:
        raise ConfigError(f"workers.{key} in {config.path} must be a positive number of seconds.")
    return number
