"""One HTTP client per connection, on httpx.

It owns what every vendor call shares: base URL policy (https, or http to loopback
only), auth placement, timeouts, TLS, proxy, User-Agent, client-side rate limits,
retries with backoff (tenacity), and turning every failure into our error tree via
the table in `errormap`, whose verdict each error carries (and retries follow). It
keeps no per-action state: what one invocation did is recorded in the `calls` list
the caller passes in.
"""

from __future__ import annotations

import copy
import dataclasses
import email.utils
import functools
import ipaddress
import json
import logging
import socket
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any

import httpx

from soarpack import errors
from soarpack.config import ConnectionSettings
from soarpack.http import errormap, tokens, vendorjson
from soarpack.http.ratelimit import RateLimiter
from soarpack.manifest import ConnectionSpec, RateLimitSpec
from soarpack.redact import RedactingFilter, redact, redact_data
from soarpack.version import __version__

if TYPE_CHECKING:
    import tenacity

USER_AGENT = (
    f"soarpack/{__version__} (+https://pypi.org/project/soarpack/) httpx/{httpx.__version__}"
)
log = logging.getLogger("soarpack.http")
# httpx logs each request's URL at INFO to whatever handler the host application set up;
# a token the vendor forces into the query string (MetaAccess) must not show there.
logging.getLogger("httpx").addFilter(RedactingFilter())
_SNIPPET = 300  # characters of a non-JSON body quoted in an error
# Largest answer body read (the max_response_bytes setting's default): 6x a full
# 10,000-record iterator page, far below what would hurt the host.
DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class CallRecord:
    """One HTTP attempt, as shown in results and journals (URL already redacted)."""

    method: str
    url: str
    status: int | None
    duration_ms: float
    attempt: int
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Reply:
    """A successful answer: status, headers and the decoded JSON body."""

    status: int
    headers: httpx.Headers
    data: Any


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


class DryRunHalt(Exception):  # control flow, deliberately outside the SoarpackError tree
    """Raised in a dry run instead of sending the first request that would change something.

    `planned` is that request as {"method", "url", "body"}, built as it would be sent but
    without the credential, and redacted. The engine turns it into the dry-run result.
    """

    def __init__(self, connection: str, planned: dict[str, Any]) -> None:
        super().__init__(f"dry run: {planned['method']} {planned['url']} on {connection} not sent")
        self.connection = connection
        self.planned = planned


@dataclass(slots=True)  # not frozen: one is made per request, and frozen inits are slow
class _Deadline:
    """When one logical request must be over, and whose limit that is (for messages)."""

    at: float  # a time.monotonic() value
    by_step: bool  # the caller's per-invocation deadline, not the connection's total_timeout

    @classmethod
    def earliest(cls, total: float, step: float | None) -> _Deadline:
        own = time.monotonic() + total
        if step is not None and step < own:
            return cls(step, by_step=True)
        return cls(own, by_step=False)

    def left(self) -> float:
        return self.at - time.monotonic()

    @property
    def whose(self) -> str:
        return "the step's timeout" if self.by_step else "total_timeout"


_STEP_HINT = (
    "Raise the step's timeout: it bounds one attempt of the action, its HTTP calls included."
)
# Which configured phase timeout an httpx timeout exception is about.
_PHASES: tuple[tuple[type[httpx.TimeoutException], str], ...] = (
    (httpx.ConnectTimeout, "connect"),
    (httpx.ReadTimeout, "read"),
    (httpx.WriteTimeout, "write"),
    (httpx.PoolTimeout, "pool"),
)


class _Attempt(Exception):
    """Internal: a failed attempt carrying the error to raise (with its verdict)."""

    def __init__(self, error: errors.CallError):
        super().__init__(str(error))
        self.error = error


class ConnectionClient:
    """The shared client of one connection. Thread-safe; reuse it across invocations."""

    def __init__(
        self,
        spec: ConnectionSpec,
        settings: ConnectionSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self.settings = settings
        self.base_url = check_base_url(str(settings.get("base_url")), spec.name)
        self.sleep = sleep
        # Obtains the token at run time (auth `exchange`) when none is configured.
        self._tokens = tokens.provider_for(spec.auth, settings, clock=clock)
        self._limiters: dict[tuple[int, float], RateLimiter] = {}
        # Set only on a per-invocation view (`for_invocation`); the shared client has neither.
        self._deadline: float | None = None
        self._dry_run = False
        self._timeout = httpx.Timeout(
            connect=float(settings.get("connect_timeout", 10)),
            read=float(settings.get("read_timeout", 60)),
            write=float(settings.get("read_timeout", 60)),
            pool=float(settings.get("connect_timeout", 10)),
        )
        # With more time left than this, no phase timeout needs shortening.
        self._longest_phase = max(t for t in self._timeout.as_dict().values() if t is not None)
        self._max_attempts = int(settings.get("max_attempts", 4))
        self._max_retry_wait = float(settings.get("max_retry_wait", 60))
        self._total_timeout = float(settings.get("total_timeout", 300))
        self._max_response_bytes = int(
            settings.get("max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)
        )
        try:
            self._transport = transport or httpx.HTTPTransport(
                verify=tls_context(settings, self.base_url.scheme),
                proxy=settings.get("proxy"),
                # Environment proxies, .netrc and friends are never picked up implicitly.
                trust_env=False,
            )
            self._http = self._build_http(self._transport)
        except (httpx.InvalidURL, ValueError, ImportError) as exc:
            raise errors.ConfigError(
                f"Settings of {spec.name!r} cannot be used (check proxy and TLS settings): {exc}."
            ) from None
        # Request paths are appended to this (see `_build_request`).
        self._url_prefix = str(self._http.base_url)
        if not self._url_prefix.endswith("/"):
            self._url_prefix += "/"

    def _build_http(self, transport: httpx.BaseTransport) -> httpx.Client:
        """The httpx client on the connection's transport (and so its pool). Token
        exchanges go through it; vendor calls go to the transport itself (`_send`)."""
        return httpx.Client(
            base_url=self.base_url,
            timeout=self._timeout,
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            # Actions are stateless and one client serves every invocation (and, in the
            # server, every caller): a cookie one answer sets is neither kept nor sent.
            cookies=CookieJar(DefaultCookiePolicy(allowed_domains=[])),
            transport=transport,
        )

    def _send(self, request: httpx.Request) -> httpx.Response:
        """Send one request on the connection's transport; the body is left unread.

        `httpx.Client.send` wraps the transport in what we never use: redirects (refused),
        cookies (refused), auth flows (the token is placed by `_with_auth`), event hooks
        and a log line per request. On a fast answer that wrapping cost more than all of
        our own work (about 70 µs), so vendor calls skip it. Timeouts travel in the
        request's extensions, as with the client.
        """
        response = self._transport.handle_request(request)
        response.request = request
        return response

    def _build_request(
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
        merged = httpx.Headers(self._http.headers)
        if headers:
            merged.update(headers)
        return httpx.Request(
            method,
            self._url_prefix + path.lstrip("/"),
            params=dict(params) if params else None,
            json=dict(json_body) if json_body is not None else None,
            headers=merged,
            extensions={"timeout": (timeout or self._timeout).as_dict()},
        )

    def close(self) -> None:
        self._http.close()

    def for_invocation(
        self, *, deadline: float | None = None, dry_run: bool = False
    ) -> ConnectionClient:
        """A view of this client for one invocation, applying its deadline and dry run to
        every request, also those a handler sends through `session.client` itself.

        The view shares the connection pool, token cache and rate limiters (a shallow copy),
        so it costs nothing to make; close the shared client, never a view.
        """
        view = copy.copy(self)
        view._deadline = deadline
        view._dry_run = dry_run
        return view

    def describe(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The request `request` would send, as {"method", "url", "body"}: built the same way
        but without the credential, and redacted besides (what a dry run shows)."""
        built = self._build_request(method, path, params=params, json_body=json_body)
        body = json.loads(built.content) if built.content else None
        return {"method": built.method, "url": redact(str(built.url)), "body": redact_data(body)}

    def __repr__(self) -> str:
        return f"ConnectionClient({self.spec.name!r}, base_url={str(self.base_url)!r})"

    # -- the one way to call a vendor ---------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        side_effect: str,
        calls: list[CallRecord],
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        rate_limit: RateLimitSpec | None = None,
        raw: bool = False,
        deadline: float | None = None,
    ) -> Reply:
        """Send one logical request (with retries as allowed) and return the decoded answer.

        With `raw`, a successful answer's body is returned as bytes for the caller to parse:
        for bulk pages decoded selectively, and for CSV. `deadline` (a time.monotonic()
        value: a playbook step's timeout) ends the request, retries and waits included,
        if it comes before the connection's own total_timeout.
        """
        if self._dry_run and side_effect != "read":
            raise DryRunHalt(self.spec.name, self.describe(method, path, params, json_body))
        limiter = self._limiter(rate_limit or self.spec.rate_limit)
        ends = _Deadline.earliest(self._total_timeout, _earliest(deadline, self._deadline))

        def once(number: int) -> Reply:
            def send(token: str) -> Reply:
                return self._authorized_attempt(
                    method,
                    path,
                    token,
                    params=params,
                    json_body=json_body,
                    headers=headers,
                    calls=calls,
                    number=number,
                    deadline=ends,
                    raw=raw,
                    limiter=limiter,
                )

            # Out of time already: not even a token exchange is started.
            self._time_left(ends, method, number)
            token = self._credential(calls, number, ends)
            try:
                return send(token)
            except _Attempt as failed:
                if not self._renewable(failed):
                    raise
            # The vendor refused an obtained token (expired or revoked early) before
            # acting on the request, so renew it and resend once.
            self._renew(token)
            return send(self._credential(calls, number, ends))

        # The first attempt goes without tenacity: most requests succeed at once, and
        # setting up a Retrying per request cost more than the rest of our own work.
        try:
            return once(1)
        except _Attempt as failed:
            first = failed
        return self._retry(once, first, side_effect, ends)

    def _retry(
        self, once: Callable[[int], Reply], first: _Attempt, side_effect: str, ends: _Deadline
    ) -> Reply:
        """After a failed first attempt: wait and try again as far as the failure, the
        side effect, max_attempts, max_retry_wait and the deadline allow."""
        import tenacity  # here: a first attempt that succeeds never needs it

        max_attempts, max_wait = self._max_attempts, self._max_retry_wait

        def stop(state: tenacity.RetryCallState) -> bool:
            upcoming = state.upcoming_sleep
            return (
                state.attempt_number >= max_attempts
                or state.idle_for + upcoming > max_wait
                # No wait that would end past the deadline: the last answer is reported.
                or upcoming > ends.left()
            )

        retrying = tenacity.Retrying(
            stop=stop,
            wait=_wait,
            retry=tenacity.retry_if_exception(
                lambda exc: (
                    isinstance(exc, _Attempt) and errormap.retry_by_itself(exc.error, side_effect)
                )
            ),
            sleep=self.sleep,
            reraise=True,
        )
        number = 1
        try:
            for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number == 1:
                        raise first  # sent already; tenacity decides on its outcome
                    return once(number)
        except _Attempt as failed:
            failed.error.attempts = number
            raise failed.error from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    # -- pieces -------------------------------------------------------------------

    def _authorized_attempt(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: Mapping[str, Any] | None,
        json_body: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        calls: list[CallRecord],
        number: int,
        deadline: _Deadline,
        raw: bool,
        limiter: RateLimiter | None,
    ) -> Reply:
        """One attempt, rate-limited, with `token` placed where the connection's auth says."""
        if limiter is not None:
            limiter.acquire(f"{method} {path}")
        placed_params, body, placed_headers = self._with_auth(token, params, json_body, headers)
        return self._attempt(
            method, path, placed_params, body, placed_headers, calls, number, deadline, raw
        )

    def _credential(self, calls: list[CallRecord], number: int, deadline: _Deadline) -> str:
        """The configured token, or one the connection's exchange obtains (cached).

        An exchange answer over the size cap or past the deadline arrives as the _Attempt
        an ordinary answer would give; every exchange failure is marked not processed."""
        if self._tokens is None:
            return self.settings.secret(self.spec.auth.setting)
        try:
            return self._tokens.token(
                self._http, self.settings, self._exchange_sender(calls, number, deadline)
            )
        except _Attempt as failed:
            # Whatever the exchange's own request met, the action's request was not sent.
            failed.error.processed = False
            raise
        except errors.CallError as error:
            error.processed = False
            raise _Attempt(error) from None

    def _renewable(self, failed: _Attempt) -> bool:
        return self._tokens is not None and failed.error.status in errormap.RENEW_TOKEN_STATUSES

    def _renew(self, stale: str) -> None:
        assert self._tokens is not None  # only called when _renewable
        self._tokens.invalidate(stale)

    def _exchange_sender(
        self, calls: list[CallRecord], number: int, deadline: _Deadline
    ) -> tokens.Send:
        """Sends a token exchange, recorded in `calls` and bounded like every other request:
        its phases by what is left of `deadline`, its body by max_response_bytes and the
        deadline (`_read_capped`)."""

        def send(request: httpx.Request) -> httpx.Response:
            remaining = self._time_left(deadline, request.method, number)
            request.extensions["timeout"] = self._phase_timeout(remaining).as_dict()
            shown_url = redact(str(request.url))
            started = time.perf_counter()

            def record(status: int | None, error: str | None = None) -> None:
                elapsed = round((time.perf_counter() - started) * 1000, 2)
                calls.append(CallRecord(request.method, shown_url, status, elapsed, number, error))
                log.debug("token exchange %s %s -> %s", request.method, shown_url, status or error)

            try:
                response = self._http.send(request, stream=True)
                try:
                    self._read_capped(response, deadline, request.method, shown_url)
                finally:
                    response.close()
            except _Attempt as failed:
                record(response.status_code, failed.error.kind)
                raise
            except httpx.HTTPError as exc:
                broke = self._transport_attempt(exc, deadline, remaining, request.method)
                broke.error.url = shown_url
                record(None, broke.error.kind)
                # `_credential` marks it not processed: the action's request was not sent.
                raise broke.error from None
            record(response.status_code)
            return response

        return send

    def _with_auth(
        self,
        token: str,
        params: Mapping[str, Any] | None,
        json_body: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
    ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, str]]:
        auth = self.spec.auth
        name, prefix = auth.placement(self.settings.values)
        value = prefix + token
        params = dict(params or {})
        headers = dict(headers or {})
        body = dict(json_body) if json_body is not None else None
        if auth.place == "body":
            body = {**(body or {}), name: value}
        elif auth.place == "header":
            headers[name] = value
        else:
            params[name] = value
        return params, body, headers

    def _limiter(self, rate: RateLimitSpec | None) -> RateLimiter | None:
        if rate is None:
            return None
        key = (rate.requests, rate.per_seconds)
        if key not in self._limiters:
            self._limiters[key] = RateLimiter(rate.requests, rate.per_seconds, sleep=self.sleep)
        return self._limiters[key]

    def _attempt(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        body: dict[str, Any] | None,
        headers: dict[str, str],
        calls: list[CallRecord],
        number: int,
        deadline: _Deadline,
        raw: bool = False,
    ) -> Reply:
        remaining = self._time_left(deadline, method, number)
        timeout = self._phase_timeout(remaining)
        request = self._build_request(
            method, path, params=params, json_body=body, headers=headers, timeout=timeout
        )
        shown_url = redact(str(request.url))
        started = time.perf_counter()

        def record(status: int | None, error: str | None = None) -> None:
            elapsed = round((time.perf_counter() - started) * 1000, 2)
            calls.append(CallRecord(method, shown_url, status, elapsed, number, error))
            log.debug(
                "%s %s -> %s in %.1f ms (attempt %d)",
                method,
                shown_url,
                status or error,
                elapsed,
                number,
            )

        try:
            response = self._send(request)
            try:
                self._read_capped(response, deadline, method, shown_url)
            finally:
                response.close()
            # httpx leaves the response and its body stream in a reference cycle, so each
            # body (10 MB for an iterator page) lived until the cycle collector ran; the
            # body is read already, so swap the stream for an empty one.
            response.stream = httpx.ByteStream(b"")
        except _Attempt as failed:
            record(response.status_code, failed.error.kind)
            raise
        except httpx.HTTPError as exc:
            broke = self._transport_attempt(exc, deadline, remaining, method)
            broke.error.url = shown_url
            record(None, broke.error.kind)
            raise broke from None
        record(response.status_code)
        context: dict[str, Any] = {
            "method": method,
            "url": shown_url,
            "status": response.status_code,
        }
        if response.status_code >= 400:
            verdict = errormap.for_status(response.status_code, self.spec.status_overrides)
            vendor_message = _vendor_message(response)
            if response.status_code == 403 and self._says_bad_credential(vendor_message):
                # Netskope v1 answers a wrong token with 403: that is not a scope problem.
                verdict = dataclasses.replace(verdict, error=errors.AuthenticationError)
            error = verdict.build(
                _status_message(self.spec.name, response.status_code, vendor_message),
                vendor_message=vendor_message,
                retry_after=_retry_after(response.headers),
                **context,
            )
            raise _Attempt(error)
        if response.status_code >= 300:
            raise _Attempt(
                errormap.FAILURES["redirect"].build(
                    f"{self.spec.name} answered with a redirect ({response.status_code}) to "
                    f"{redact(response.headers.get('location', '?'))}.",
                    **context,
                )
            )
        if raw:
            if "html" in response.headers.get("content-type", "").lower():
                # Data pages are JSON or CSV; a page for humans is a proxy or portal talking.
                raise _Attempt(
                    errormap.FAILURES["not_json"].build(
                        f"{self.spec.name} answered {response.status_code} with an HTML page instead of data.",
                        **context,
                    )
                )
            return Reply(response.status_code, response.headers, response.content)
        data = _decode_json(response, self.spec.name, context)
        self._check_vendor_error(data, context)
        return Reply(response.status_code, response.headers, data)

    def _read_capped(
        self, response: httpx.Response, deadline: _Deadline, method: str, shown_url: str
    ) -> None:
        """Read the body, refusing one over max_response_bytes (decompressed, so a small
        gzip bomb counts at its real size) and one still dripping in past the deadline:
        read_timeout bounds each read, not the sum of a slow body's reads."""
        cap = self._max_response_bytes
        context: dict[str, Any] = {
            "method": method,
            "url": shown_url,
            "status": response.status_code,
        }
        declared = response.headers.get("content-length", "")
        if (
            declared.isdigit()
            and int(declared) > cap
            and not response.headers.get("content-encoding")
        ):
            raise _Attempt(_too_large(self.spec.name, cap, context))
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise _Attempt(_too_large(self.spec.name, cap, context))
            chunks.append(chunk)
            if deadline.left() <= 0:
                raise _Attempt(
                    errormap.answered("late_answer", response.status_code).build(
                        f"{self.spec.name} was still sending its answer when "
                        f"{deadline.whose} ran out.",
                        hint=_STEP_HINT if deadline.by_step else None,
                        **context,
                    )
                )
        # What Response.read() would have stored: .content, .text and .json() use it.
        response._content = b"".join(chunks)

    def _phase_timeout(self, remaining: float) -> httpx.Timeout:
        """The phase timeouts of one attempt: each bounded by what is left of the deadline."""
        timeout = self._timeout
        if remaining >= self._longest_phase:
            return timeout
        return httpx.Timeout(
            connect=min(timeout.connect or remaining, remaining),
            read=min(timeout.read or remaining, remaining),
            write=min(timeout.write or remaining, remaining),
            pool=min(timeout.pool or remaining, remaining),
        )

    def _transport_attempt(
        self, exc: httpx.HTTPError, deadline: _Deadline, remaining: float, method: str
    ) -> _Attempt:
        """A transport failure of an attempt that had `remaining` seconds, as our error."""
        failure = _transport_failure(exc, self.spec.name)
        if deadline.by_step and self._cut_short(exc, remaining):
            # The step's time is spent, not the connection's: say so, and try no more.
            failure = errors.RequestTimeout(
                f"{self.spec.name}: the step's timeout ran out while waiting for the answer.",
                hint=_STEP_HINT,
                processed=failure.processed,
                transient=False,
            )
        failure.method = method
        return _Attempt(failure)

    def _time_left(self, deadline: _Deadline, method: str, number: int) -> float:
        """Seconds left before `deadline`, or the RequestTimeout (as an _Attempt) if none."""
        remaining = deadline.left()
        if remaining <= 0:
            raise _Attempt(
                errormap.FAILURES["deadline_before_send"].build(
                    f"{self.spec.name}: {deadline.whose} ran out before attempt {number}.",
                    hint=_STEP_HINT if deadline.by_step else None,
                    method=method,
                )
            )
        return remaining

    def _cut_short(self, exc: httpx.HTTPError, remaining: float) -> bool:
        """Whether `exc` is a timeout of a phase that the deadline bounded below its setting."""
        for kind, phase in _PHASES:
            if isinstance(exc, kind):
                configured = getattr(self._timeout, phase)
                return configured is None or remaining < configured
        return False

    def _says_bad_credential(self, vendor_message: str | None) -> bool:
        rules = self.spec.vendor_errors
        pattern = rules.auth_regex() if rules else None
        return bool(pattern and vendor_message and pattern.search(vendor_message))

    def _check_vendor_error(self, data: Any, context: dict[str, Any]) -> None:
        rules = self.spec.vendor_errors
        if rules is None or not isinstance(data, dict):
            return
        failed = data.get(rules.status_field) in rules.error_values or any(
            isinstance(data.get(name), list) and data[name] for name in rules.error_list_fields
        )
        if not failed:
            return
        parts: list[str] = []
        for name in rules.message_fields:
            value = data.get(name)
            if isinstance(value, list):
                parts.extend(str(v) for v in value if v)
            elif value:
                parts.append(str(value))
        message = "; ".join(dict.fromkeys(parts)) or "no message given"
        verdict = errormap.FAILURES["vendor_error"]
        if self._says_bad_credential(message):
            error = dataclasses.replace(verdict, error=errors.AuthenticationError).build(
                f"{self.spec.name} rejected the credential: {message}",
                hint="Check the token in the connection settings.",
                vendor_message=message,
                **context,
            )
        else:
            error = verdict.build(
                f"{self.spec.name} reported a failure: {message}", vendor_message=message, **context
            )
        raise _Attempt(error)


def _too_large(connection: str, cap: int, context: dict[str, Any]) -> errors.CallError:
    return errormap.answered("too_large", context.get("status")).build(
        f"{connection} answered with a body larger than max_response_bytes ({cap} bytes); "
        "it was not read further.",
        hint="Narrow the request (smaller pages), or raise max_response_bytes for this "
        "connection if such answers are expected.",
        **context,
    )


def _earliest(*deadlines: float | None) -> float | None:
    given = [d for d in deadlines if d is not None]
    return min(given) if given else None


def tls_context(settings: ConnectionSettings, scheme: str = "https") -> ssl.SSLContext | bool:
    """The TLS verification of a connection's client: the system's CAs (or ca_bundle).

    A plain-http base URL (allowed to loopback only, the sandbox) never does TLS, and
    loading the CA store took 50 ms of a CLI command's start: it gets a context that
    verifies as strictly but trusts no CA, so it could not talk TLS to anyone.
    """
    if scheme == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if settings.get("verify_tls", True) is False:
        return False  # only reachable with allow_insecure_tls: true (checked in config)
    bundle = settings.get("ca_bundle")
    try:
        return ssl.create_default_context(cafile=bundle) if bundle else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise errors.ConfigError(
            f"ca_bundle {bundle!r} of {settings.connection!r} cannot be used: {exc}."
        ) from None


def _wait(state: tenacity.RetryCallState) -> float:
    """Honour the vendor's Retry-After / RateLimit-Reset; else exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, _Attempt) and exc.error.retry_after is not None:
        return max(0.0, exc.error.retry_after)
    return float(_backoff()(state))


@functools.cache
def _backoff() -> tenacity.wait.wait_base:
    import tenacity

    # 0.5 s, 1 s, 2 s ... capped at 30 s, plus up to 0.5 s of jitter so clients spread out.
    return tenacity.wait_exponential(multiplier=0.5, max=30) + tenacity.wait_random(0, 0.5)


def _retry_after(headers: httpx.Headers) -> float | None:
    for name in ("retry-after", "ratelimit-reset"):
        raw = headers.get(name)
        if raw is None:
            continue
        raw = raw.strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            continue
        return max(0.0, when.timestamp() - time.time())
    return None


def _vendor_message(response: httpx.Response) -> str | None:
    try:
        data = vendorjson.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):
        text = response.text.strip()
        return text[:_SNIPPET] if text and "<html" not in text[:200].lower() else None
    if isinstance(data, dict):
        for key in ("message", "msg", "errors", "error", "detail", "error_description"):
            value = data.get(key)
            if value:
                return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return None


def _status_message(connection: str, status: int, vendor_message: str | None) -> str:
    phrase = httpx.codes.get_reason_phrase(status) or "error"
    said = f": {vendor_message.rstrip('. ')}" if vendor_message else ""
    return f"{connection} answered {status} {phrase}{said}."


def _decode_json(response: httpx.Response, connection: str, context: dict[str, Any]) -> Any:
    if not response.content:
        return None
    try:
        # Lone surrogates become U+FFFD here, so every layer after can encode the answer.
        return vendorjson.loads(response.content)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested too deep
        kind = response.headers.get("content-type", "unknown content type")
        snippet = response.text[:_SNIPPET].replace("\n", " ") if kind.startswith("text/") else ""
        raise _Attempt(
            errormap.FAILURES["not_json"].build(
                f"{connection} answered {response.status_code} with a body that is not JSON ({kind})"
                + (f": {snippet}" if snippet else "."),
                **context,
            )
        ) from None


def _transport_failure(exc: httpx.HTTPError, connection: str) -> errors.CallError:
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
        reason = _connect_reason(exc)
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


def _connect_reason(exc: BaseException) -> str:
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
