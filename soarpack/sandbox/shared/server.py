"""Serve an ASGI app over real loopback HTTP from a background thread.

The socket is bound here rather than by uvicorn, so `port=0` yields a free port whose
number is known before the first request. Only loopback hosts are accepted: the
sandbox has admin endpoints and no real authentication, so it must never be reachable
from another machine.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

__all__ = ["RunningServer", "start_server"]

_STARTUP_TIMEOUT_SECONDS = 10.0
_STOP_TIMEOUT_SECONDS = 10.0


def _loopback_address(host: str) -> tuple[str, socket.AddressFamily]:
    """The literal address to bind for `host`, or ValueError if it is not loopback."""
    if host == "localhost":
        # Bind the literal address: a resolver could map "localhost" anywhere.
        return "127.0.0.1", socket.AF_INET
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        raise ValueError(
            f"the sandbox only listens on loopback; {host!r} is not a loopback address"
        ) from None
    if not address.is_loopback:
        raise ValueError(f"the sandbox only listens on loopback; {host!r} is not loopback")
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    return str(address), family


class RunningServer:
    """A uvicorn server on a background thread; stop it with `stop()` or a `with` block."""

    def __init__(
        self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket, host: str
    ) -> None:
        self._server = server
        self._thread = thread
        self._socket = sock
        self.host = host
        self.port: int = sock.getsockname()[1]
        url_host = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{url_host}:{self.port}"

    def stop(self) -> None:
        """Finish in-flight requests, stop the loop and join its thread (idempotent)."""
        self._server.should_exit = True
        self._thread.join(_STOP_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            # Still busy after a graceful wait (e.g. a long delay fault): stop waiting.
            self._server.force_exit = True
            self._thread.join(_STOP_TIMEOUT_SECONDS)
        self._socket.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningServer({self.base_url!r})"


def start_server(app: Any, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve `app` on `host:port` (port 0 picks a free one) and wait until it accepts."""
    address, family = _loopback_address(host)
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on accepted sockets whose
    # protocol says TCP, and without it every kept-alive response waits ~40 ms for a
    # delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, port))
        # Listening now means connections made before uvicorn is ready queue up, not fail.
        sock.listen(128)
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            # Leave the host process's logging configuration alone.
            log_config=None,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sandbox-server", daemon=True
        )
        thread.start()
    except BaseException:
        sock.close()
        raise
    running = RunningServer(server, thread, sock, address)
    deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            running.stop()
            raise RuntimeError(f"the sandbox server on {running.base_url} did not start")
        time.sleep(0.01)
    return running
