"""Tokens obtained at run time: the `exchange` of a connection's `auth` block.

    auth:
      place: query
      name: access_token
      setting: access_token           # a configured token is used as-is...
      exchange:                       # ...otherwise one is obtained, cached and renewed
        kind: oauth_client_credentials
        path: /o/oauth/token

The connection's credentials (auth.py) ask its provider for a token before each
attempt, place it like a configured one, and when the vendor answers 401 to an obtained
token invalidate it and resend once with a fresh one. Every token is registered as a secret the moment it
is read, so it is redacted from URLs, errors, results and logs.

A kind is one `TokenProvider` class registered in `PROVIDERS` under the name the
manifest schema's `exchange.kind` enum lists. Most kinds subclass `CachedExchange`
(caching, locking, failure mapping) and write two methods: `build` (the request) and
`read` (the token in the answer). Adding a kind = one class + one `PROVIDERS` entry +
one enum value in schemas/manifest.schema.json.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import httpx

from soarpack import errors
from soarpack.config import ConnectionSettings
from soarpack.http import errormap, vendorjson
from soarpack.manifest import AuthSpec, TokenExchangeSpec
from soarpack.redact import redact, register_secret

__all__ = [
    "PROVIDERS",
    "CachedExchange",
    "LaceworkTokenLogin",
    "OAuthClientCredentials",
    "Send",
    "Token",
    "TokenProvider",
    "provider_for",
]

#: Sends one exchange request for the client: records it in the invocation's calls
#: (URL redacted), bounds it like every other call (max_response_bytes counted after
#: decompression, the invocation's deadline, total_timeout) and returns the answer with
#: its body read; raises our TransportError classes when no answer comes back, and the
#: client's own failure for an answer too large or too slow (which is not caught here).
Send = Callable[[httpx.Request], httpx.Response]

# Renew this long before the vendor's expiry (at most a tenth of the token's life), so a
# token is never sent in its last seconds and refused on arrival.
EXPIRY_SKEW_SECONDS = 30.0
_SNIPPET = 200


class TokenProvider(Protocol):
    """What a connection client needs from a way of obtaining tokens."""

    def token(self, http: httpx.Client, settings: ConnectionSettings, send: Send) -> str:
        """A usable token: the cached one, or a fresh one from the exchange.

        `http` is the connection's raw client (base URL, TLS, proxy, timeouts) to build
        the request with; `send` sends it. Failures raise our errors (errors.py):
        AuthenticationError when the vendor refuses the credentials.
        """
        ...

    def invalidate(self, stale: str) -> None:
        """Forget `stale` (the vendor refused it); the next `token()` obtains a new one."""
        ...


@dataclass(frozen=True)
class Token:
    """A token as the vendor handed it out; `lifetime` in seconds, None if not said."""

    value: str
    lifetime: float | None = None


class CachedExchange(ABC):
    """The shared part of every kind: one exchange at a time, the token reused until
    shortly before it expires, and failures mapped to our errors.

    Thread-safe: concurrent callers wait for the exchange in flight and share its token.
    """

    kind: ClassVar[str]
    #: Settings the exchange reads (checked by `soarpack validate` and at client creation).
    required_settings: ClassVar[tuple[str, ...]] = ()
    #: Those of them that must be marked x-secret.
    secret_settings: ClassVar[tuple[str, ...]] = ()
    #: What users are told when the vendor refuses the credentials.
    credential_hint: ClassVar[str] = "Check the credentials in the connection settings."

    def __init__(
        self,
        spec: TokenExchangeSpec,
        connection: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        auth: AuthSpec | None = None,
    ) -> None:
        self.spec = spec
        self.connection = connection
        # Where the connection places its token, for kinds that send the credential the same way.
        self.auth = auth
        self._clock = clock
        self._lock = threading.Lock()
        self._value: str | None = None
        self._renew_at: float | None = None  # clock time; None: until the vendor refuses it

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.connection!r}, path={self.spec.path!r})"

    # -- TokenProvider --------------------------------------------------------------

    def token(self, http: httpx.Client, settings: ConnectionSettings, send: Send) -> str:
        with self._lock:
            if self._value is not None and (
                self._renew_at is None or self._clock() < self._renew_at
            ):
                return self._value
            self._value = None
            request = self.build(http, settings)
            response = send(request)
            fresh = self._accept(request, response)
            self._value = fresh.value
            self._renew_at = (
                None
                if fresh.lifetime is None
                else self._clock() + fresh.lifetime - min(EXPIRY_SKEW_SECONDS, fresh.lifetime / 10)
            )
            return fresh.value

    def invalidate(self, stale: str) -> None:
        with self._lock:
            # Another caller may have renewed it already; keep the newer one.
            if self._value == stale:
                self._value = None

    # -- what a kind writes ---------------------------------------------------------

    @abstractmethod
    def build(self, http: httpx.Client, settings: ConnectionSettings) -> httpx.Request:
        """The exchange request (use `http.build_request` so base URL and headers apply)."""

    @abstractmethod
    def read(self, data: dict[str, Any]) -> Token:
        """The token in a successful answer's JSON object. Register every secret in it
        (`register_secret`) before anything else; raise ValueError when it is not there."""

    def says_bad_credentials(self, status: int, data: Any) -> bool:
        """Whether a failed answer means the credentials are wrong (not a passing fault)."""
        return status == 401

    # -- answers --------------------------------------------------------------------

    def _accept(self, request: httpx.Request, response: httpx.Response) -> Token:
        context: dict[str, Any] = {
            "method": request.method,
            "url": redact(str(request.url)),
            "status": response.status_code,
        }
        data = _json_or_none(response)
        if not 200 <= response.status_code < 300:
            raise self._failure(response, data, context)
        if not isinstance(data, dict):
            kind = response.headers.get("content-type", "unknown content type")
            raise errormap.FAILURES["not_json"].build(
                f"The token answer of {self.connection} is not a JSON object ({kind}).",
                hint="A proxy or captive portal may be answering instead of the vendor; check base_url.",
                **context,
            )
        try:
            return self.read(data)
        except ValueError as exc:
            raise errormap.FAILURES["not_json"].build(
                f"The token answer of {self.connection} cannot be used: {exc}.",
                hint="The vendor's token endpoint may have changed; run with --debug and report it.",
                **context,
            ) from None

    def _failure(
        self, response: httpx.Response, data: Any, context: dict[str, Any]
    ) -> errors.CallError:
        status = response.status_code
        vendor_message = _vendor_message(response, data)
        phrase = httpx.codes.get_reason_phrase(status) or "error"
        said = f": {vendor_message.rstrip('. ')}" if vendor_message else ""
        if self.says_bad_credentials(status, data):
            return errors.AuthenticationError(
                f"{self.connection} refused the credentials of the token exchange "
                f"({status} {phrase}{said}).",
                hint=self.credential_hint,
                vendor_message=vendor_message,
                **context,
            )
        return errormap.for_status(status).build(
            f"Obtaining an access token from {self.connection} failed: {status} {phrase}{said}.",
            vendor_message=vendor_message,
            retry_after=_retry_after(response),
            **context,
        )


class OAuthClientCredentials(CachedExchange):
    """OAuth 2.0 client credentials grant (RFC 6749 section 4.4), secret in the form body."""

    kind = "oauth_client_credentials"
    required_settings = ("client_id", "client_secret")
    secret_settings = ("client_secret",)
    credential_hint = "Check client_id and client_secret in the connection settings."
    # RFC 6749 section 5.2: the errors that mean the client itself is not accepted.
    _BAD_CLIENT = frozenset({"invalid_client", "unauthorized_client", "invalid_grant"})

    def build(self, http: httpx.Client, settings: ConnectionSettings) -> httpx.Request:
        client_id = settings.get("client_id")
        if not client_id:
            raise errors.ConfigError(f"Connection {self.connection!r} has no client_id set.")
        form = {
            "grant_type": "client_credentials",
            "client_id": str(client_id),
            "client_secret": settings.secret("client_secret"),
        }
        return http.build_request("POST", self.spec.path, data=form)

    def read(self, data: dict[str, Any]) -> Token:
        for name in ("access_token", "refresh_token", "id_token"):
            if isinstance(data.get(name), str):
                register_secret(data[name])
        value = data.get("access_token")
        if not isinstance(value, str) or not value.strip():
            raise ValueError("it has no access_token")
        return Token(value, _lifetime(data.get("expires_in")))

    def says_bad_credentials(self, status: int, data: Any) -> bool:
        code = data.get("error") if isinstance(data, dict) else None
        return status == 401 or (status == 400 and code in self._BAD_CLIENT)


class LaceworkTokenLogin(CachedExchange):
    """Lacework Edge TokenLogin: the API key, sent in the connection's auth header (the
    same header and scheme the JWT then travels in), buys a JWT for the account."""

    kind = "lacework_token_login"
    required_settings = ("account", "api_key")
    secret_settings = ("api_key",)
    credential_hint = (
        "Check api_key and account in the connection settings (and auth_header/auth_scheme "
        "if the tenant is behind a gateway)."
    )

    def build(self, http: httpx.Client, settings: ConnectionSettings) -> httpx.Request:
        if self.auth is None or self.auth.place != "header":
            raise errors.ConfigError(
                f"Connection {self.connection!r}: TokenLogin needs a header `auth` placement."
            )
        header, prefix = self.auth.placement(settings.values)
        key = prefix + settings.secret("api_key")
        account = {"account": str(settings.get("account"))}
        return http.build_request("GET", self.spec.path, params=account, headers={header: key})

    def read(self, data: dict[str, Any]) -> Token:
        for name in ("token", "time_id_token"):
            if isinstance(data.get(name), str) and data[name]:
                register_secret(data[name])
        value = data.get("token")
        if not isinstance(value, str) or not value.strip():
            raise ValueError("it has no token")
        ttl = data.get("ttl_sec")
        if isinstance(ttl, (int, float)) and not isinstance(ttl, bool) and ttl > 0:
            return Token(value, float(ttl))
        expires = data.get("expire_time_sec")
        if isinstance(expires, (int, float)) and not isinstance(expires, bool) and expires > 0:
            # An absolute time (epoch seconds) on the tenant's clock.
            return Token(value, max(1.0, float(expires) - time.time()))
        return Token(value)  # no expiry given: used until the tenant refuses it

    def says_bad_credentials(self, status: int, data: Any) -> bool:
        # TokenLogin documents 403 for a refused key; 401 means the same.
        return status in (401, 403)


#: Every exchange kind, by the name the manifest uses.
PROVIDERS: dict[str, type[CachedExchange]] = {
    OAuthClientCredentials.kind: OAuthClientCredentials,
    LaceworkTokenLogin.kind: LaceworkTokenLogin,
}


def provider_for(
    auth: AuthSpec,
    settings: ConnectionSettings,
    *,
    clock: Callable[[], float] = time.monotonic,
) -> TokenProvider | None:
    """The provider a connection needs, or None when its token is configured (or it has
    no exchange): a configured token is always used as-is."""
    if auth.exchange is None or auth.setting in settings.secrets:
        return None
    cls = PROVIDERS.get(auth.exchange.kind)
    if cls is None:  # the manifest schema lists only known kinds
        raise errors.ConfigError(f"Unknown token exchange kind {auth.exchange.kind!r}.")
    missing = [
        name
        for name in cls.required_settings
        if settings.get(name) is None and name not in settings.secrets
    ]
    if missing:
        raise errors.ConfigError(
            f"Connection {settings.connection!r} needs either {auth.setting} or "
            + " and ".join(cls.required_settings)
            + f"; {', '.join(missing)} not set.",
        )
    return cls(auth.exchange, settings.connection, clock=clock, auth=auth)


def _lifetime(raw: Any) -> float | None:
    """`expires_in` in seconds (a number, or a numeric string as some vendors send)."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError("its expires_in is not a number of seconds")
    try:
        seconds = float(raw)
    except (TypeError, ValueError):
        raise ValueError("its expires_in is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError("its expires_in is not a positive number of seconds")
    return seconds


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return vendorjson.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _vendor_message(response: httpx.Response, data: Any) -> str | None:
    if isinstance(data, dict):
        parts = [
            str(data[key])
            for key in ("error", "error_description", "message")
            if isinstance(data.get(key), (str, int)) and str(data[key])
        ]
        return ": ".join(dict.fromkeys(parts)) or None
    text = response.text.strip() if data is None else ""
    if text and "<html" not in text[:200].lower():
        return text[:_SNIPPET]
    return None


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None
