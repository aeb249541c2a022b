"""A synchronous httpx transport that serves requests from an in-process ASGI app.

httpx's ASGITransport only works with AsyncClient, while the code under test uses a
plain `httpx.Client`. This bridge runs the async transport on a private event loop
thread (an anyio blocking portal) and hands back fully read responses, so

    with httpx.Client(transport=InProcessTransport(app), base_url="http://sandbox") as c:
        c.post("/api/v1/clients", json={"token": "..."})

exercises the real request path without opening a socket.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

import anyio
import anyio.from_thread
import httpx

__all__ = ["InProcessTransport"]


class InProcessTransport(httpx.BaseTransport):
    """Sync transport over an ASGI app; safe to share between threads.

    The portal thread starts on the first request and stops in `close()` (which
    `httpx.Client.close()` calls). A `read` timeout set on the client is honoured, so a
    `delay` fault longer than the timeout raises `httpx.ReadTimeout` just as it would
    over a socket.
    """

    def __init__(self, app: Any, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=client)
        self._lock = threading.Lock()
        self._portal_cm: AbstractContextManager[anyio.from_thread.BlockingPortal] | None = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._closed = False

    def _get_portal(self) -> anyio.from_thread.BlockingPortal:
        # Lazily, under a lock: two threads making the first request must share one loop.
        with self._lock:
            if self._closed:
                raise RuntimeError("InProcessTransport is closed")
            if self._portal is None:
                portal_cm = anyio.from_thread.start_blocking_portal()
                self._portal = portal_cm.__enter__()
                self._portal_cm = portal_cm
            return self._portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Read the body on the caller's thread: a sync stream cannot be iterated from
        # the loop. Afterwards request.stream is a ByteStream, which is also async.
        request.read()
        return self._get_portal().call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout") or {}
        read_timeout = timeouts.get("read")
        try:
            with anyio.fail_after(read_timeout):
                response = await self._asgi.handle_async_request(request)
        except TimeoutError:
            raise httpx.ReadTimeout(
                "the in-process app did not answer in time", request=request
            ) from None
        stream = response.stream
        assert isinstance(stream, httpx.AsyncByteStream)
        # Raw bytes, not decoded: the client decodes any Content-Encoding itself.
        content = b"".join([chunk async for chunk in stream])
        await stream.aclose()
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=httpx.ByteStream(content),
            extensions=response.extensions,
        )

    def close(self) -> None:
        with self._lock:
            portal_cm, self._portal_cm, self._portal = self._portal_cm, None, None
            self._closed = True
        if portal_cm is not None:
            portal_cm.__exit__(None, None, None)
