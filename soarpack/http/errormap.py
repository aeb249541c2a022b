"""What each failure means, decided in one table.

For every HTTP status and every transport exception: which error class it becomes,
and when it may be retried. Retrying is a question of whether the vendor could have
acted on the request:

- NEVER: the answer is final (bad request, auth, not found, conflict...).
- READS: retry only for `read` actions; the request may have been processed, so a
  write or destructive call is not repeated (502, 504, read timeout).
- ANY: the failure proves the request was not processed (connect error, 429, 503),
  so it is safe to retry whatever the action does.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from soarpack import errors
from soarpack.manifest import StatusOverride


class Retry(enum.Enum):
    NEVER = "never"
    READS = "reads"
    ANY = "any"

    def allows(self, side_effect: str) -> bool:
        return self is Retry.ANY or (self is Retry.READS and side_effect == "read")


@dataclass(frozen=True)
class Rule:
    error: type[errors.CallError]
    retry: Retry
    hint: str


STATUS_RULES: dict[int, Rule] = {
    400: Rule(
        errors.InvalidRequestError, Retry.NEVER, "Check the inputs against the vendor's rules."
    ),
    401: Rule(
        errors.AuthenticationError,
        Retry.NEVER,
        "Check that the credential is correct and not expired.",
    ),
    403: Rule(
        errors.PermissionDeniedError,
        Retry.NEVER,
        "Check the credential's scope and that it has not expired or been revoked.",
    ),
    404: Rule(errors.NotFoundError, Retry.NEVER, "Check the identifier and the base URL."),
    406: Rule(
        errors.InvalidRequestError, Retry.NEVER, "A parameter is outside what the vendor accepts."
    ),
    409: Rule(
        errors.ConflictError,
        Retry.NEVER,
        "Another change or consumer got there first; re-read and try again.",
    ),
    413: Rule(
        errors.InvalidRequestError, Retry.NEVER, "The request or page asked for is too large."
    ),
    422: Rule(errors.InvalidRequestError, Retry.NEVER, "The vendor could not process the inputs."),
    429: Rule(
        errors.RateLimitedError,
        Retry.ANY,
        "The vendor's rate limit was reached; wait and try again.",
    ),
    500: Rule(
        errors.ServerError, Retry.NEVER, "The vendor failed; try again later or contact the vendor."
    ),
    502: Rule(errors.ServerError, Retry.READS, "The vendor's gateway failed; try again later."),
    503: Rule(errors.ServerError, Retry.ANY, "The vendor is unavailable; try again later."),
    504: Rule(errors.ServerError, Retry.READS, "The vendor's gateway timed out; try again later."),
}

_FALLBACK_4XX = Rule(errors.InvalidRequestError, Retry.NEVER, "The vendor rejected the request.")
_FALLBACK_5XX = Rule(errors.ServerError, Retry.NEVER, "The vendor failed; try again later.")

# Transport failures, keyed by the error class we raise for them.
CONNECT_RETRY = Retry.ANY  # nothing reached the vendor
READ_TIMEOUT_RETRY = Retry.READS  # the vendor may be working on it
WRITE_TIMEOUT_RETRY = Retry.READS
POOL_TIMEOUT_RETRY = Retry.ANY  # never left our process

# Statuses that, answered to a token obtained at run time (auth `exchange`), mean the
# token expired or was revoked early: the client renews it and resends once, whatever
# the side effect, since a 401 proves the request was not processed. A second one stands.
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


def rule_for_status(status: int, overrides: Mapping[int, StatusOverride] | None = None) -> Rule:
    """The rule for an HTTP status that is not a success, with a connection's overrides.

    An override changes what users are told (error class, hint), never whether a retry
    is safe: that follows from HTTP, not from a vendor's wording.
    """
    rule = STATUS_RULES.get(status) or (_FALLBACK_5XX if status >= 500 else _FALLBACK_4XX)
    override = (overrides or {}).get(status)
    if override is None:
        return rule
    return Rule(
        ERRORS_BY_KIND[override.error] if override.error else rule.error,
        rule.retry,
        override.hint or rule.hint,
    )


def exchange_retry(error: errors.CallError) -> Retry:
    """Whether a failed token exchange may be tried again.

    The action's own request was not sent, so a failure that may pass later (429, 503,
    a gateway error, no or an unreadable answer) is retried whatever the action does;
    refused credentials and final answers are not.
    """
    if isinstance(error, errors.AuthenticationError):
        return Retry.NEVER
    if error.status is not None and error.status >= 400:
        final = rule_for_status(error.status).retry is Retry.NEVER
    else:
        final = isinstance(error, errors.ConnectionFailed) and error.reason == "tls"
    return Retry.NEVER if final else Retry.ANY
