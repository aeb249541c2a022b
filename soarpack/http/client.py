"""One HTTP client per connection: the one way to call a vendor, put together.

`ConnectionClient.request` makes one `LogicalRequest` (request.py) of its arguments and
hands it down: the retry loop (retry.py) runs attempts, each with its credential placed
(auth.py) and sent, bounded and recorded (attempt.py) on the connection's channel
(connection.py); every failure becomes our error with the verdict of errormap.py. A
view per invocation (`for_invocation`) adds its deadline and dry run (invocation.py).
The client keeps no per-action state: each attempt is recorded in the `calls` list the
caller passes in.
"""

from __future__ import annotations

import copy
import functools
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from soarpack.config import ConnectionSettings
from soarpack.http import retry, tokens
from soarpack.http.attempt import Sender
from soarpack.http.auth import Credentials
from soarpack.http.connection import Channel, Limits, check_base_url
from soarpack.http.invocation import CallRecord, DryRunHalt, Invocation
from soarpack.http.ratelimit import LocalWindows, WindowStore, account_fingerprint
from soarpack.http.request import LogicalRequest, Reply
from soarpack.manifest import ConnectionSpec, RateLimitSpec
from soarpack.redact import redact, redact_data


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
        windows: WindowStore | None = None,
    ) -> None:
        """`windows`: where the rate limits' windows live (ratelimit.py); by default this
        client's own memory."""
        self.spec = spec
        self.settings = settings
        self.base_url = check_base_url(str(settings.get("base_url")), spec.name)
        self.sleep = sleep
        provider = tokens.provider_for(spec.auth, settings, clock=clock)
        self._limits = Limits.of(settings)
        self._channel = Channel(spec.name, settings, self.base_url, self._limits.timeout, transport)
        account = _account(spec, settings, str(self.base_url), provider is None)
        self._sender = Sender(
            spec, self._channel, self._limits, sleep, windows or LocalWindows(), account
        )
        self._credentials = Credentials(spec, settings, provider, self._sender, self._channel.http)
        # The shared client has the empty one; a view (`for_invocation`) its own.
        self._invocation = Invocation()
        # The httpx client and its timeouts, which tests/http/test_client_build.py
        # compares the requests built here (`_build_request`) with.
        self._http = self._channel.http
        self._timeout = self._limits.timeout

    def close(self) -> None:
        self._channel.close()

    def for_invocation(
        self, *, deadline: float | None = None, dry_run: bool = False
    ) -> ConnectionClient:
        """A view of this client for one invocation, applying its deadline and dry run to
        every request, also those a handler sends through `session.client` itself.

        The view shares the connection pool, token cache and rate limiters (a shallow copy),
        so it costs nothing to make; close the shared client, never a view.
        """
        view = copy.copy(self)
        view._invocation = Invocation(deadline, dry_run)
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
        if self._invocation.halts(side_effect):
            raise DryRunHalt(self.spec.name, self.describe(method, path, params, json_body))
        logical = LogicalRequest(
            method,
            path,
            side_effect,
            calls,
            self._invocation.deadline_for(self._limits.total_timeout, deadline),
            params=params,
            json_body=json_body,
            headers=headers,
            rate_limit=rate_limit or self.spec.rate_limit,
            raw=raw,
        )
        return retry.run(functools.partial(self._once, logical), logical, self._limits, self.sleep)

    def _once(self, request: LogicalRequest, number: int) -> Reply:
        # Out of time already: not even a token exchange is started.
        self._sender.time_left(request.deadline, request.method, number)
        return self._credentials.attempt(request, number)

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
        """The request sent for these, before the credential is placed (connection.Channel)."""
        return self._channel.build(
            method, path, params=params, json_body=json_body, headers=headers, timeout=timeout
        )


def _account(
    spec: ConnectionSpec, settings: ConnectionSettings, base_url: str, token_configured: bool
) -> str:
    """The fingerprint of the account this client calls as: its base URL and credential
    (the configured token, or what its exchange logs in with), hashed."""
    names: tuple[str, ...] = (spec.auth.setting,)
    if not token_configured and spec.auth.exchange is not None:
        names = tokens.PROVIDERS[spec.auth.exchange.kind].required_settings
    identity = [(name, settings.secrets.get(name, settings.get(name))) for name in names]
    return account_fingerprint(base_url, identity)
