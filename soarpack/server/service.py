"""What the server's endpoints share: the pack, the engine, the settings, the key ring,
the per-key limits and the background runs (one Service per app), and its closing."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.playbook.journal import runs_dir
from soarpack.server.auth import KeyRing
from soarpack.server.exposure import unserved_actions
from soarpack.server.limits import KeyLimits
from soarpack.server.openapi import build_openapi
from soarpack.server.runs import RunManager
from soarpack.server.settings import ServerSettings, load_server_settings


@dataclass
class Service:
    """Everything the endpoints share. Close it to let runs pause and free the engine."""

    pack: Pack
    engine: Engine
    settings: ServerSettings
    keys: KeyRing
    runs: RunManager
    limits: KeyLimits = field(default_factory=KeyLimits)
    _openapi: dict[str, Any] | None = field(default=None, init=False)
    _openapi_lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _closed: bool = field(default=False, init=False)
    _left: list[str] = field(default_factory=list, init=False)
    # Actions whose inputs are local paths: never served (exposure.py).
    unserved: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.unserved = unserved_actions(self.pack)

    def openapi(self) -> dict[str, Any]:
        with self._openapi_lock:
            if self._openapi is None:
                self._openapi = build_openapi(self.pack)
            return self._openapi

    def close(self) -> list[str]:
        """Give runs the grace period to pause, then close the engine; returns the runs
        still going (left resumable)."""
        if self._closed:
            return self._left
        self._closed = True
        self._left = self.runs.close(self.settings.shutdown_grace)
        if not self._left:
            # Runs still going keep their engine: the process ending stops them, and
            # their journals make them resumable; closing it would fail their calls.
            self.engine.close()
        return self._left


def build_service(
    pack: Pack,
    config: Config,
    *,
    engine: Engine,
    allow_anonymous: bool = False,
    settings: ServerSettings | None = None,
) -> Service:
    """The service for this pack and config over `engine`: the caller picks it (local or
    Celery, by `server.executor`: `soarpack serve` does), so the server knows no executor."""
    settings = settings or load_server_settings(config)
    keys = KeyRing(settings.keys, settings.anonymous if allow_anonymous else None)
    folder = runs_dir(settings.runs_dir, config.env)
    return Service(pack, engine, settings, keys, RunManager(engine, folder))
