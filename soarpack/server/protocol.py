"""uvicorn's HTTP/1.1 protocol, with a deadline on the request headers.

uvicorn times out an idle keep-alive connection, but not one that is sending its
headers: its keep-alive timer starts only after a response, and any byte received
cancels it. A caller that opens connections and sends half a request line, or a header
a byte a second, could hold sockets (and file descriptors) forever. Here every request's
headers must be complete within `header_timeout` seconds of the connection opening or
of the previous response (as must the rest of a body the app answered without reading);
otherwise the connection is closed. The body has its own
deadline in the app (server.body_timeout), where the answer can be a 408.

Imported only by `soarpack serve`: importing it imports uvicorn.
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


class _HeaderDeadline(H11Protocol):
    header_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._awaiting_request():
            self._disarm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._awaiting_request():
            self._arm()

    def _awaiting_request(self) -> bool:
        """No request is being answered: none has been read whole yet (h11 stays IDLE
        until the last header line), or the last one was answered and the caller is
        still sending the rest of a body nobody reads."""
        return self.conn.their_state is h11.IDLE or self.conn.our_state is h11.DONE

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self._awaiting_request() and not self.transport.is_closing():
            # No request was read, so there is no one to answer: close.
            self.transport.close()


def protocol_class(header_timeout: float) -> type[H11Protocol]:
    """The protocol class for uvicorn's `http=` setting, with this header deadline."""
    return type("HeaderDeadlineProtocol", (_HeaderDeadline,), {"header_timeout": header_timeout})
