"""Every error the server answers with: one status table, one JSON body.

    {"error": {kind, type, message, [hint], [errors], [status, retry_after...], exit_code},
     "request_id": "..."}

Our SoarpackErrors keep their own `to_dict()` (already redacted) and the exit code
the CLI would give them. Problems that belong to the HTTP layer alone (no key, scope,
body too big, our own rate limit, unknown route) are HttpProblems with a kind, type
and exit code of their own. Anything else is a bug: 500 kind "internal", with the
details in the server log only.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from starlette.responses import Response

from soarpack import errors, exitcodes
from soarpack.redact import redact, redact_data

log = logging.getLogger("soarpack.server")

# Most specific first; the first class the error is an instance of decides.
STATUS_TABLE: list[tuple[type[errors.SoarpackError], int]] = [
    (errors.InputError, 400),
    (errors.ExpressionError, 400),
    (errors.PlaybookInvalid, 400),
    (errors.RunStateError, 409),
    (errors.NotFoundError, 404),
    (errors.ConflictError, 409),
    (errors.InvalidRequestError, 422),
    (errors.RateLimitedError, 429),
    (errors.RequestTimeout, 504),
    # Includes the vendor refusing *our* credential: the caller can do nothing about it.
    (errors.CallError, 502),
    (errors.ConfigError, 500),
    (errors.PackError, 500),
]
INTERNAL_STATUS = 500


def status_for(error: errors.SoarpackError) -> int:
    for cls, status in STATUS_TABLE:
        if isinstance(error, cls):
            return status
    return INTERNAL_STATUS


class HttpProblem(Exception):
    """A refusal of the HTTP layer itself (not a SoarpackError: nothing was attempted)."""

    status = 400
    kind = "input"
    exit_code = exitcodes.BAD_INPUT

    def __init__(
        self, message: str, *, retry_after: float | None = None, allow: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.allow = allow

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "type": type(self).__name__}
        out["message"] = redact(self.message)
        if self.retry_after is not None:
            out["retry_after"] = self.retry_after
        return out

    def headers(self) -> dict[str, str]:
        found: dict[str, str] = {}
        if self.retry_after is not None:
            found["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        if self.allow is not None:
            found["Allow"] = self.allow
        return found


class Unauthorized(HttpProblem):
    status, kind, exit_code = 401, "auth", exitcodes.AUTH

    def headers(self) -> dict[str, str]:
        return {**super().headers(), "WWW-Authenticate": "Bearer"}


class Forbidden(HttpProblem):
    status, kind, exit_code = 403, "auth", exitcodes.AUTH


class NotFound(HttpProblem):
    status, kind, exit_code = 404, "config", exitcodes.CONFIG


class MethodNotAllowed(HttpProblem):
    status, kind, exit_code = 405, "input", exitcodes.USAGE


class BodyTooLarge(HttpProblem):
    status, kind, exit_code = 413, "input", exitcodes.BAD_INPUT

    def headers(self) -> dict[str, str]:
        # The rest of the body was not read: this connection cannot carry another request.
        return {**super().headers(), "Connection": "close"}


class BadHeaders(HttpProblem):
    """Headers we cannot read one way only (two Authorization headers: which one counts
    would depend on the reader)."""

    status, kind, exit_code = 400, "input", exitcodes.BAD_INPUT


class BodyTimeout(HttpProblem):
    status, kind, exit_code = 408, "input", exitcodes.BAD_INPUT

    def headers(self) -> dict[str, str]:
        # The rest of the body may still come: this connection cannot carry another request.
        return {**super().headers(), "Connection": "close"}


class TooManyRequests(HttpProblem):
    status, kind, exit_code = 429, "rate_limited", exitcodes.RATE_LIMITED


class ServiceUnavailable(HttpProblem):
    status, kind, exit_code = 503, "unavailable", exitcodes.NETWORK


def problem_parts(error: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, the `error` object, extra headers) for any exception."""
    if isinstance(error, HttpProblem):
        return error.status, {**error.to_dict(), "exit_code": error.exit_code}, error.headers()
    if isinstance(error, errors.SoarpackError):
        status = status_for(error)
        body = {**error.to_dict(), "exit_code": exitcodes.exit_code_for(error)}
        headers: dict[str, str] = {}
        retry_after = getattr(error, "retry_after", None)
        if status == 429 and isinstance(retry_after, (int, float)):
            headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        return status, body, headers
    body = {
        "kind": "internal",
        "type": "InternalError",
        "message": "The server hit a bug; its log has the details under this request id.",
        "exit_code": exitcodes.INTERNAL,
    }
    return INTERNAL_STATUS, body, {}


def error_response(error: BaseException, request_id: str) -> Response:
    status, body, headers = problem_parts(error)
    if isinstance(error, errors.SoarpackError) and status == INTERNAL_STATUS:
        log.error("request %s: the server is misconfigured: %s", request_id, error)
    elif not isinstance(error, (errors.SoarpackError, HttpProblem)):
        log.error("request %s failed", request_id, exc_info=error)
    return json_response({"error": body, "request_id": request_id}, status, headers)


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """JSON, redacted once more on the way out: no registered secret leaves in a body."""
    text = json.dumps(redact_data(data), ensure_ascii=False, default=str, separators=(",", ":"))
    return Response(text, status, headers, media_type="application/json")
