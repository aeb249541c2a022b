"""What each failure means, decided in one table; every layer reads the verdict.

For every HTTP status and every other way a call can fail (no connection, a timeout,
an answer we cannot use), one row says which error class it becomes, its hint, and
its verdict, which is set on the error itself (`error.processed`, `error.transient`):

- processed False: the vendor did not act on the request, and the same request may
  fare otherwise later: it never reached the vendor (connect error, pool timeout), or
  the vendor turned it away for now (429, 503, 409 busy or conflicting). Sending it
  again cannot apply a change twice.
- processed None: the vendor may have acted on it (500, 502, 504, a timeout or a
  broken connection after sending). A write is not sent again on that alone.
- processed True: the vendor acted on it and answered for good: a success whose answer
  we cannot use, or a refusal of the request itself (400, 401, 403, 404, 422...).
  Sending it again gets the same answer, or repeats the change.
- transient: the failure may pass on its own, so the HTTP client tries again by itself
  (after a backoff) where `may_resend` allows it; a 500 or a 409 does not qualify.

`may_resend(error, side_effect)` is the one resend rule: the HTTP client's retries,
token exchanges, the playbook's `retry:`, the ingest and the workers all go by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from soarpack import errors
from soarpack.manifest import StatusOverride


@dataclass(frozen=True)
class Verdict:
    """One row: the error class, whether the request may have been processed, whether
    the failure may pass by itself, and what users are told."""

    error: type[errors.CallError]
    processed: bool | None
    transient: bool
    hint: str | None = None

    def build(self, message: str, *, hint: str | None = None, **context: Any) -> errors.CallError:
        """The error of this row, its verdict set; `hint` replaces the row's."""
        return self.error(
            message,
            hint=hint or self.hint,
            processed=self.processed,
            transient=self.transient,
            **context,
        )


def _final(error: type[errors.CallError], hint: str) -> Verdict:
    """A refusal of the request itself: processed, and the same answer next time."""
    return Verdict(error, processed=True, transient=False, hint=hint)


STATUS_VERDICTS: dict[int, Verdict] = {
    400: _final(errors.InvalidRequestError, "Check the inputs against the vendor's rules."),
    401: _final(
        errors.AuthenticationError, "Check that the credential is correct and not expired."
    ),
    403: _final(
        errors.PermissionDeniedError,
        "Check the credential's scope and that it has not expired or been revoked.",
    ),
    404: _final(errors.NotFoundError, "Check the identifier and the base URL."),
    406: _final(errors.InvalidRequestError, "A parameter is outside what the vendor accepts."),
    # Refused because of a concurrent change or use: nothing was changed, but waiting
    # alone rarely helps (the caller must re-read first), so the client does not retry.
    409: Verdict(
        errors.ConflictError,
        processed=False,
        transient=False,
        hint="Another change or consumer got there first; re-read and try again.",
    ),
    413: _final(errors.InvalidRequestError, "The request or page asked for is too large."),
    422: _final(errors.InvalidRequestError, "The vendor could not process the inputs."),
    429: Verdict(
        errors.RateLimitedError,
        processed=False,
        transient=True,
        hint="The vendor's rate limit was reached; wait and try again.",
    ),
    # A 500 may come after the change was made; and it is often the request itself that
    # triggers the fault, so not even a read is repeated at once.
    500: Verdict(
        errors.ServerError,
        processed=None,
        transient=False,
        hint="The vendor failed; try again later or contact the vendor.",
    ),
    502: Verdict(
        errors.ServerError,
        processed=None,
        transient=True,
        hint="The vendor's gateway failed; try again later.",
    ),
    503: Verdict(
        errors.ServerError,
        processed=False,
        transient=True,
        hint="The vendor is unavailable; try again later.",
    ),
    504: Verdict(
        errors.ServerError,
        processed=None,
        transient=True,
        hint="The vendor's gateway timed out; try again later.",
    ),
}

_OTHER_4XX = _final(errors.InvalidRequestError, "The vendor rejected the request.")
_OTHER_5XX = Verdict(
    errors.ServerError, processed=None, transient=False, hint="The vendor failed; try again later."
)

#: Every failure that is not a status, by name.
FAILURES: dict[str, Verdict] = {
    # Nothing reached the vendor.
    "connect_timeout": Verdict(
        errors.RequestTimeout, False, True, "Check the network path and connect_timeout."
    ),
    "pool_timeout": Verdict(errors.RequestTimeout, False, True),
    "dns": Verdict(errors.ConnectionFailed, False, True, "Check base_url's host name."),
    "refused": Verdict(
        errors.ConnectionFailed,
        False,
        True,
        "Check base_url's host and port, and that the service is up.",
    ),
    "proxy": Verdict(errors.ConnectionFailed, False, True),
    "connect_other": Verdict(errors.ConnectionFailed, False, True),
    # A TLS failure or an unusable URL will not fix itself.
    "tls": Verdict(
        errors.ConnectionFailed,
        False,
        False,
        "Check the certificate chain; set ca_bundle for a private CA.",
    ),
    "unsupported_protocol": Verdict(errors.ConnectionFailed, False, False),
    "deadline_before_send": Verdict(errors.RequestTimeout, False, False),
    # Our own pacing (the manifest's rate_limit) would start it after the deadline: not
    # sent, and trying again within the same deadline finds the window no emptier.
    "rate_wait_past_deadline": Verdict(
        errors.RateLimitedError,
        False,
        False,
        "Other requests of this account (other processes or workers too) are using its rate "
        "limit; try again later or allow the request more time.",
    ),
    # Sent (or partly sent): the vendor may be working on it.
    "read_timeout": Verdict(
        errors.RequestTimeout, None, True, "Raise read_timeout or narrow the request."
    ),
    "write_timeout": Verdict(errors.RequestTimeout, None, True),
    "broken": Verdict(errors.TransportError, None, True),
    # A worker's task was queued, then its answer could not be read back.
    "answer_lost": Verdict(errors.ConnectionFailed, None, False),
    # An answer came that we cannot use; `processed` follows its status (`answered`).
    "not_json": Verdict(
        errors.MalformedResponseError,
        True,
        True,
        "A proxy or captive portal may be answering instead of the vendor; check base_url.",
    ),
    "wrong_shape": Verdict(
        errors.MalformedResponseError,
        True,
        False,
        "The vendor API may have changed; run with --debug and report it.",
    ),
    "too_large": Verdict(errors.MalformedResponseError, True, False),
    "late_answer": Verdict(errors.RequestTimeout, True, False),  # still arriving at the deadline
    # Polled (reads only) until a vendor state that did not come in time: nothing was
    # changed, and a later wait may find it; waiting again is the caller's choice.
    "not_ready": Verdict(errors.RequestTimeout, False, False),
    "vendor_error": Verdict(errors.VendorError, True, False),
    # A failure reported inside a success whose message says the credential is wrong
    # (the connection's `vendor_errors.auth_regex`).
    "vendor_credential": Verdict(
        errors.AuthenticationError, True, False, "Check the token in the connection settings."
    ),
    "redirect": Verdict(
        errors.InvalidRequestError,
        True,
        False,
        "Check base_url: redirects are not followed, so credentials never travel to another host.",
    ),
}

# A refusal whose vendor message says the credential is wrong (the connection's
# `vendor_errors.auth_regex`), by status: the error class it becomes instead, the
# status's verdict and hint kept. Netskope v1 answers a wrong token with 403, not 401.
CREDENTIAL_REFUSALS: dict[int, type[errors.CallError]] = {403: errors.AuthenticationError}

# Statuses that, answered to a token obtained at run time (auth `exchange`), mean the
# token expired or was revoked early: the client renews it and resends once, whatever
# the side effect, since the vendor refused the token before acting on the request.
RENEW_TOKEN_STATUSES = frozenset({401})


# The names a manifest's `status_overrides` may use, by the error's `kind`.
ERRORS_BY_KIND: dict[str, type[errors.CallError]] = {
    cls.kind: cls
    for cls in (
        errors.AuthenticationError,
        errors.PermissionDeniedError,
        errors.NotFoundError,
        errors.ConflictError,
        errors.RateLimitedError,
        errors.InvalidRequestError,
        errors.ServerError,
    )
}


def for_status(status: int, overrides: Mapping[int, StatusOverride] | None = None) -> Verdict:
    """The row of an HTTP status that is not a success, with a connection's overrides.

    An override changes what users are told (error class, hint), never the verdict:
    whether a request was processed follows from HTTP, not from a vendor's wording.
    """
    row = STATUS_VERDICTS.get(status) or (_OTHER_5XX if status >= 500 else _OTHER_4XX)
    override = (overrides or {}).get(status)
    if override is None:
        return row
    return Verdict(
        ERRORS_BY_KIND[override.error] if override.error else row.error,
        row.processed,
        row.transient,
        override.hint or row.hint,
    )


def for_answer(
    status: int,
    overrides: Mapping[int, StatusOverride] | None = None,
    *,
    bad_credential: bool = False,
) -> Verdict | None:
    """The row of an answer by its status, before its body is used: None for a success
    (its body decides), the `redirect` row for a 3xx (never followed), and for an error
    status its row (`for_status`), with `CREDENTIAL_REFUSALS` applied when the vendor's
    message says the credential is wrong (`bad_credential`)."""
    if status < 300:
        return None
    if status < 400:
        return FAILURES["redirect"]
    row = for_status(status, overrides)
    refused = CREDENTIAL_REFUSALS.get(status) if bad_credential else None
    if refused is None:
        return row
    return Verdict(refused, row.processed, row.transient, row.hint)


def answered(failure: str, status: int | None) -> Verdict:
    """The row of `failure` for an answer that came with `status`: a success was
    processed; an error status keeps the processed verdict of that status."""
    row = FAILURES[failure]
    if status is None or status < 300:
        return row
    return Verdict(row.error, for_status(status).processed, row.transient, row.hint)


def may_resend(error: errors.CallError, side_effect: str) -> bool:
    """Whether sending the same request again cannot repeat what the first one did: a
    read, or a request proven not processed. Worth doing is another matter
    (`error.transient`, or the playbook step's `retry.errors`)."""
    return side_effect == "read" or error.processed is False


def retry_by_itself(error: errors.CallError, side_effect: str) -> bool:
    """Whether the HTTP client (or a token exchange) tries again without being asked."""
    return error.transient and may_resend(error, side_effect)


def verdicts() -> list[tuple[str, Verdict]]:
    """Every row, named (statuses as text), for checks and documentation."""
    rows = [(str(status), row) for status, row in STATUS_VERDICTS.items()]
    rows += [("other 4xx", _OTHER_4XX), ("other 5xx", _OTHER_5XX)]
    return rows + list(FAILURES.items())


# Failures of a token exchange (auth `exchange`): its answer's status, a token answer we
# cannot use, or no answer. Each is marked not processed (auth.Credentials),
# since the action's own request was not sent. An exchange never reads vendor_errors.
_NOT_FROM_EXCHANGE = frozenset({"vendor_error", "vendor_credential", "answer_lost"})


def never_resent(
    cls: type[errors.SoarpackError],
    *,
    verifiable: bool,
    overrides: Mapping[int, StatusOverride] | None = None,
    exchange: bool = False,
) -> bool:
    """Whether no failure of class `cls` (or a subclass) can ever let a write be sent
    again: none is proven unprocessed, and none leaves it unknown for a `verify` read to
    settle (when the action declares one). On a connection whose auth has an `exchange`,
    every class a token exchange can fail with is proven unprocessed. Classes outside
    CallError (input, settings and playbook errors) are never resent either."""
    if not issubclass(cls, errors.CallError) and not issubclass(errors.CallError, cls):
        return True
    rows = [row for _, row in verdicts()]
    rows += [for_status(status, overrides) for status in overrides or {}]
    if exchange:
        rows += [
            Verdict(row.error, False, row.transient)
            for name, row in verdicts()
            if name not in _NOT_FROM_EXCHANGE
        ]
    return not any(
        issubclass(row.error, cls)
        and (row.processed is False or (verifiable and row.processed is None))
        for row in rows
    )
