"""gzip for a simulated vendor's answers, as its tenants serve them, and a note of it in the log.

Tenants answer `Accept-Encoding: gzip` with a gzipped body, and clients (netskopesdk,
httpx under soarpack) ask for it: a 10,000-record data-export page is ~12 MB as JSON
and ~1 MB gzipped. Starlette's `GZipMiddleware` does the compressing; `gzip_middleware`
puts a recorder outside it that writes the encoding actually served into the request's
log entry (`"encoding": "gzip"` or `"identity"`), so a test can tell from the sandbox's
own log whether a client was answered compressed.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from soarpack.sandbox.shared.requestlog import LOG_ENTRY_SCOPE_KEY

__all__ = ["GZIP_LEVEL", "GZIP_MINIMUM_SIZE", "EncodingRecorder", "gzip_middleware"]

# zlib's own default: a full page costs ~95 ms to compress at 6 against ~410 ms at
# Starlette's default of 9, for a body only 7% larger.
GZIP_LEVEL = 6
# Smaller bodies go out as they are, as most front ends do (Starlette's default).
GZIP_MINIMUM_SIZE = 500


class EncodingRecorder:
    """ASGI middleware: notes the Content-Encoding of each answer in its log entry."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The endpoint put its entry in the scope (requestlog.new_entry); the
                # admin endpoints log nothing and so have none.
                entry = scope.get(LOG_ENTRY_SCOPE_KEY)
                if entry is not None:
                    encoding = Headers(raw=message.get("headers", [])).get("content-encoding")
                    entry["encoding"] = encoding or "identity"
            await send(message)

        await self.app(scope, receive, noting)


def gzip_middleware() -> list[Middleware]:
    """The middleware list of an app that answers gzip when asked (outermost first)."""
    return [
        Middleware(EncodingRecorder),
        Middleware(GZipMiddleware, minimum_size=GZIP_MINIMUM_SIZE, compresslevel=GZIP_LEVEL),
    ]
