"""A connection's settings made into the means of the HTTP layer: the checked base URL,
TLS, the timeouts and limits, and the httpx transport and client built on them.

The defaults of those settings have one home, schemas/common/connection.json: config
applies them to the settings it reads, and they are read from that file here, once, for
settings made in code that lack one.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from soarpack import errors
from soarpack.config import ConnectionSettings
from soarpack.pack import find_pack_dir
from soarpack.redact import RedactingFilter
from soarpack.version import __version__

USER_AGENT = (
    f"soarpack/{__version__} (+https://pypi.org/project/soarpack/) httpx/{httpx.__version__}"
)
# httpx logs each request's URL at INFO to whatever handler the host application set up;
# a token the vendor forces into the query string (MetaAccess) must not show there.
logging.getLogger("httpx").addFilter(RedactingFilter())

COMMON_SCHEMA = "common/connection.json"  # under the pack's schemas/
# Which configured phase timeout an httpx timeout exception is about.
_PHASES: tuple[tuple[type[httpx.TimeoutException], str], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
    (httpx.PoolTimeout, "pool"),
)


@functools.cache
def setting_defaults() -> dict[str, Any]:
    """The `default` of every setting in schemas/common/connection.json (of the pack this
    engine ships with: a pack given elsewhere has its defaults applied by config)."""
    path = find_pack_dir(env={}) / "schemas" / COMMON_SCHEMA
    properties = json.loads(path.read_bytes())["properties"]
    return {name: prop["default"] for name, prop in properties.items() if "default" in prop}


_UNSET = object()


def setting(settings: ConnectionSettings, name: str) -> Any:
    """A transport setting's value, or its schema default when it is not set."""
    value = settings.get(name, _UNSET)
    return setting_defaults().get(name) if value is _UNSET else value


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str, connection: str) -> httpx.URL:
    """The base URL if acceptable: https anywhere, plain http only to loopback."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise errors.ConfigError(f"base_url of {connection!r} is not a URL: {exc}.") from None
    if parsed.userinfo:
        # Credentials in a URL end up in logs and errors; they belong in secret settings.
        raise errors.ConfigError(
            f"base_url of {connection!r} must not contain a user name or password; "
            "put credentials in the connection's secret settings."
        )
    if parsed.scheme == "https" and parsed.host:
        return parsed
    if parsed.scheme == "http" and parsed.host and is_loopback(parsed.host):
        return parsed
    raise errors.ConfigError(
        f"base_url of {connection!r} must use https (plain http is allowed only to loopback "
        f"addresses such as the sandbox); got {parsed.scheme}://{parsed.host}.",
    )


def tls_context(settings: ConnectionSettings, scheme: str = "https") -> ssl.SSLContext | bool:
    """The TLS verification of a connection's client: the system's CAs (or ca_bundle).

    A plain-http base URL (allowed to loopback only, the sandbox) never does TLS, and
    loading the CA store took 50 ms of a CLI command's start: it gets a context that
    verifies as strictly but trusts no CA, so it could not talk TLS to anyone.
    """
    if scheme == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if setting(settings, "verify_tls") is False:
        return False  # only reachable with allow_insecure_tls: true (checked in config)
    bundle = settings.get("ca_bundle")
    try:
        return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise errors.ConfigError(
            f"ca_bundle {bundle!r} of {settings.connection!r} cannot be used: {exc}."
        ) from None


@dataclass(frozen=True)
class Limits:
    """The bounds a connection's settings put on each request and attempt."""

    timeout: httpx.Timeout  # per phase of one attempt
    max_attempts: int
    max_retry_wait: float
    total_timeout: float
    max_response_bytes: int

    @classmethod
    def of(cls, settings: ConnectionSettings) -> Limits:
        connect = float(setting(settings, "connect_timeout"))
        read = float(setting(settings, "read_timeout"))
        return cls(
            timeout=httpx.Timeout(connect=connect, read=read, write=read, pool=connect),
            max_attempts=int(setting(settings, "max_attempts")),
            max_retry_wait=float(setting(settings, "max_retry_wait")),
            total_timeout=float(setting(settings, "total_timeout")),
            max_response_bytes=int(setting(settings, "max_response_bytes")),
        )

    @functools.cached_property
    def longest_phase(self) -> float:
        """With more time left than this, no phase timeout needs shortening."""
        return max(t for t in self.timeout.as_dict().values() if t is not None)

    def phase_timeout(self, remaining: float) -> httpx.Timeout:
        """The phase timeouts of one attempt: each bounded by what is left of the deadline."""
        timeout = self.timeout
        if remaining >= self.longest_phase:
            return timeout
        return httpx.Timeout(
            connect=min(timeout.connect or remaining, remaining),
            read=min(timeout.read or remaining, remaining),
            write=min(timeout.write or remaining, remaining),
            pool=min(timeout.pool or remaining, remaining),
        )

    def cut_short(self, exc: httpx.HTTPError, remaining: float) -> bool:
        """Whether `exc` is a timeout of a phase that the deadline bounded below its setting."""
        for kind, phase in _PHASES:
            if isinstance(exc, kind):
                configured = getattr(self.timeout, phase)
                return configured is None or remaining < configured
        return False


class Channel:
    """The wire of one connection: its transport (and so its pool), the httpx client on
    it (token exchanges go through that), and requests built for them."""

    def __init__(
        self,
        connection: str,
        settings: ConnectionSettings,
        base_url: httpx.URL,
        timeout: httpx.Timeout,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        try:
            self.transport = transport or httpx.HTTPTransport(
                verify=tls_context(settings, base_url.scheme),
                proxy=settings.get("proxy"),
                # Environment proxies, .netrc and friends are never picked up implicitly.
                trust_env=False,
            )
            self.http = httpx.Client(
                base_url=base_url,
                timeout=timeout,
                trust_env=False,
                follow_redirects=False,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
                # Actions are stateless and one client serves every invocation (and, in
                # the server, every caller): a cookie one answer sets is neither kept nor sent.
                cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
                transport=self.transport,
            )
        except (httpx.InvalidURL, ValueError, ImportError) as exc:
            raise errors.ConfigError(
                f"Settings of {connection!r} cannot be used (check proxy and TLS settings): {exc}."
            ) from None
        # Request paths are appended to this (see `build`).
        self._url_prefix = str(self.http.base_url)
        if not self._url_prefix.endswith("/"):
            self._url_prefix += "/"

    def build(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> httpx.Request:
        """The request `httpx.Client.build_request` would make of these, built directly.

        The client's version merges the base URL by parsing it again, and the client's
        headers, params and cookies, on every call: about a third of a request's time on a
        fast transport. Here the base URL is a string prefix: `path` is always appended to
        it, so even an absolute URL in `path` stays on the configured host.
        tests/http/test_client_build.py holds both ways to the same request.
        """
        merged = httpx.Headers(self.http.headers)
        if headers:
            merged.update(headers)
        return httpx.Request(
            method,
            self._url_prefix + path.lstrip("/"),
            params=dict(params) if params else None,
            json=dict(json_body) if json_body is not None else None,
            headers=merged,
            extensions={"timeout": (timeout or self.timeout).as_dict()},
        )

    def send(self, request: httpx.Request) -> httpx.Response:
        """Send one request on the transport; the body is left unread.

        `httpx.Client.send` wraps the transport in what we never use: redirects (refused),
        cookies (refused), auth flows (the token is placed by auth.py), event hooks and a
        log line per request. On a fast answer that wrapping cost more than all of our own
        work (about 70 µs), so vendor calls skip it. Timeouts travel in the request's
        extensions, as with the client.
        """
        response = self.transport.handle_request(request)
        response.request = request
        return response

    def close(self) -> None:
        self.http.close()
