"""CallError and its branches: a call to a vendor did not give a usable result.

Each carries its verdict (`processed`, `transient`) from the one table in
soarpack/http/errormap.py.
"""

from __future__ import annotations

from typing import Any

from soarpack.errors._base import SoarpackError
from soarpack.redact import redact


class CallError(SoarpackError):
    """Raised when a vendor call did not produce a usable result."""

    kind = "vendor"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        vendor_message: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
        processed: bool | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        # Unknown unless the failure's row says otherwise (errormap): never resent blindly.
        self.processed = processed
        self.transient = transient
        self.status = status
        self.vendor_message = vendor_message
        self.method = method
        self.url = url
        self.retry_after = retry_after
        self.attempts = attempts

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for key in ("status", "vendor_message", "method", "url", "retry_after"):
            value = getattr(self, key)
            if value is not None:
                out[key] = redact(value) if isinstance(value, str) else value
        out["attempts"] = self.attempts
        out["processed"] = self.processed
        return out


class AuthenticationError(CallError):
    """Raised on 401, or when the vendor says the credential is invalid or expired."""

    kind = "auth"


class PermissionDeniedError(AuthenticationError):
    """Raised on 403: the credential was accepted but may not do this."""

    kind = "permission"


class NotFoundError(CallError):
    """Raised on 404: the object or endpoint does not exist."""

    kind = "not_found"


class ConflictError(CallError):
    """Raised on 409: the vendor refused because of a concurrent change or use."""

    kind = "conflict"


class RateLimitedError(CallError):
    """Raised on 429 once the retry budget is spent; `retry_after` says how long to wait."""

    kind = "rate_limited"


class InvalidRequestError(CallError):
    """Raised on 400, 406, 413 or 422: the vendor rejected what we sent."""

    kind = "invalid_request"


class VendorError(CallError):
    """Raised when a 200 answer's body says the call failed."""

    kind = "vendor"


class ServerError(CallError):
    """Raised on 5xx once retries (where allowed) are spent."""

    kind = "server"


class MalformedResponseError(CallError):
    """Raised when the answer is not JSON or not of the shape the action expects."""

    kind = "malformed"


class TransportError(CallError):
    """Raised when the request got no HTTP answer at all."""

    kind = "network"


class RequestTimeout(TransportError):
    """Raised when the connect, read or total time limit ran out."""

    kind = "timeout"


class ConnectionFailed(TransportError):
    """Raised when no connection could be made; `reason` is dns, tls, refused, proxy or other,
    or answer_lost (a queued task's answer could not be read back: it may have run)."""

    kind = "network"

    def __init__(self, message: str, *, reason: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["reason"] = self.reason
        return out
