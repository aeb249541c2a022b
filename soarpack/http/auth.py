"""The credential of each attempt: where it comes from and where it goes.

The token is the configured one, or one the connection's exchange obtains and caches
(tokens.py); it is placed in the header, query or body the connection's `auth` names.
When the vendor refuses an obtained token before acting on the request (a status in
errormap.RENEW_TOKEN_STATUSES), the token is renewed and the request sent once more.
"""

from __future__ import annotations

import httpx

from soarpack import errors
from soarpack.config import ConnectionSettings
from soarpack.http import errormap, tokens
from soarpack.http.attempt import Sender
from soarpack.http.request import AttemptFailed, LogicalRequest, Reply
from soarpack.manifest import ConnectionSpec


class Credentials:
    """The credential of one connection, for every view of its client."""

    def __init__(
        self,
        spec: ConnectionSpec,
        settings: ConnectionSettings,
        provider: tokens.TokenProvider | None,
        sender: Sender,
        http: httpx.Client,
    ) -> None:
        self.spec = spec
        self.settings = settings
        # Obtains the token at run time (auth `exchange`) when none is configured.
        self._tokens = provider
        self._sender = sender
        self._http = http

    def attempt(self, request: LogicalRequest, number: int) -> Reply:
        """Attempt `number` of `request` with the credential placed, renewed once if the
        vendor refuses an obtained token."""
        token = self._token(request, number)
        try:
            return self._sender.send(self.placed(request, token), number)
        except AttemptFailed as failed:
            if not self._renewable(failed):
                raise
        # The vendor refused an obtained token (expired or revoked early) before
        # acting on the request, so renew it and resend once.
        assert self._tokens is not None  # only then renewable
        self._tokens.invalidate(token)
        return self._sender.send(self.placed(request, self._token(request, number)), number)

    def placed(self, request: LogicalRequest, token: str) -> LogicalRequest:
        """`request` with `token` where the connection's auth puts it."""
        auth = self.spec.auth
        name, prefix = auth.placement(self.settings.values)
        value = prefix + token
        params = dict(request.params or {})
        headers = dict(request.headers or {})
        body = dict(request.json_body) if request.json_body is not None else None
        if auth.place == "body":
            body = {**(body or {}), name: value}
        elif auth.place == "header":
            headers[name] = value
        else:
            params[name] = value
        return request.carrying(params, body, headers)

    def _token(self, request: LogicalRequest, number: int) -> str:
        """The configured token, or one the connection's exchange obtains (cached).

        An exchange answer over the size cap or past the deadline arrives as the
        AttemptFailed an ordinary answer would give; every exchange failure is marked
        not processed."""
        if self._tokens is None:
            return self.settings.secret(self.spec.auth.setting)
        send = self._sender.exchange_sender(request.calls, number, request.deadline)
        try:
            return self._tokens.token(self._http, self.settings, send)
        except AttemptFailed as failed:
            # Whatever the exchange's own request met, the action's request was not sent.
            failed.error.processed = False
            raise
        except errors.CallError as error:
            error.processed = False
            raise AttemptFailed(error) from None

    def _renewable(self, failed: AttemptFailed) -> bool:
        return self._tokens is not None and failed.error.status in errormap.RENEW_TOKEN_STATUSES
