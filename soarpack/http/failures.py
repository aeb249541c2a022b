"""What a transport failure means: an httpx exception (no answer came back) as our
error, its verdict from the row errormap.FAILURES has for that way of failing."""

from __future__ import annotations

import socket
import ssl

import httpx

from soarpack import errors
from soarpack.http import errormap


def transport_failure(exc: httpx.HTTPError, connection: str) -> errors.CallError:
    """Our error for an httpx transport exception, its verdict set (errormap.FAILURES)."""
    rows = errormap.FAILURES
    if isinstance(exc, httpx.ConnectTimeout):
        return rows["connect_timeout"].build(f"Connecting to {connection} timed out.")
    if isinstance(exc, httpx.ReadTimeout):
        return rows["read_timeout"].build(f"{connection} did not answer in time.")
    if isinstance(exc, httpx.WriteTimeout):
        return rows["write_timeout"].build(f"Sending the request to {connection} timed out.")
    if isinstance(exc, httpx.PoolTimeout):
        return rows["pool_timeout"].build(f"No free connection to {connection} in time.")
    if isinstance(exc, httpx.ProxyError):
        return rows["proxy"].build(
            f"The proxy refused or failed the connection to {connection}: {exc}", reason="proxy"
        )
    if isinstance(exc, httpx.ConnectError):
        reason = connect_reason(exc)
        words = {
            "dns": "its host name does not resolve (DNS)",
            "tls": "the TLS handshake failed (certificate or protocol)",
            "refused": "the connection was refused",
        }.get(reason, "the connection failed")
        row = rows[reason if reason in ("dns", "tls", "refused") else "connect_other"]
        return row.build(f"Cannot reach {connection}: {words} ({exc}).", reason=reason)
    if isinstance(exc, httpx.UnsupportedProtocol):
        return rows["unsupported_protocol"].build(
            f"Cannot reach {connection}: {exc}.", reason="other"
        )
    return rows["broken"].build(
        f"The connection to {connection} broke: {type(exc).__name__}: {exc}."
    )


def connect_reason(exc: BaseException) -> str:
    """Why a connection could not be made: dns, tls, refused or other (the row's name)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "dns"
        if isinstance(seen, ssl.SSLError):
            return "tls"
        if isinstance(seen, ConnectionRefusedError):
            return "refused"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    if (
        "name or service not known" in text
        or "nodename nor servname" in text
        or "getaddrinfo" in text
    ):
        return "dns"
    if "certificate" in text or "ssl" in text or "tls" in text:
        return "tls"
    if "refused" in text:
        return "refused"
    return "other"
