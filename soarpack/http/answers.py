"""What an answer that came back means: a `Reply`, or the failure its row in errormap says.

The status picks the row first (errormap.for_answer: an error status, a credential the
vendor's words refuse, a redirect, or a success). A success's body is then decoded
(vendorjson; bytes for a raw request, never an HTML page) and checked against the
connection's vendor_errors rules, for a failure reported inside a 200.
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx

from soarpack import errors
from soarpack.http import errormap, vendorjson
from soarpack.http.request import AttemptFailed, Reply
from soarpack.manifest import ConnectionSpec
from soarpack.redact import redact

_SNIPPET = 300  # characters of a non-JSON body quoted in an error


def judge(
    response: httpx.Response, spec: ConnectionSpec, context: dict[str, Any], raw: bool
) -> Reply:
    """The Reply of an answer whose body is read, or AttemptFailed with its error.
    `context` (method, URL shown, status) goes into that error."""
    status = response.status_code
    if status >= 300:
        raise AttemptFailed(_refusal(response, spec, context))
    if raw:
        if "html" in response.headers.get("content-type", "").lower():
            # Data pages are JSON or CSV; a page for humans is a proxy or portal talking.
            raise AttemptFailed(
                errormap.FAILURES["not_json"].build(
                    f"{spec.name} answered {status} with an HTML page instead of data.",
                    **context,
                )
            )
        return Reply(status, response.headers, response.content)
    data = _decode_json(response, spec.name, context)
    failure = _vendor_failure(data, spec, context)
    if failure is not None:
        raise AttemptFailed(failure)
    return Reply(status, response.headers, data)


def _refusal(
    response: httpx.Response, spec: ConnectionSpec, context: dict[str, Any]
) -> errors.CallError:
    """The error of an answer whose status is not a success."""
    status = response.status_code
    vendor_message = _vendor_message(response) if status >= 400 else None
    row = errormap.for_answer(
        status, spec.status_overrides, bad_credential=says_bad_credential(spec, vendor_message)
    )
    assert row is not None  # only a success has no row
    if status < 400:  # a redirect: its words say where it pointed
        return row.build(
            f"{spec.name} answered with a redirect ({status}) to "
            f"{redact(response.headers.get('location', '?'))}.",
            **context,
        )
    return row.build(
        _status_message(spec.name, status, vendor_message),
        vendor_message=vendor_message,
        retry_after=retry_after(response.headers),
        **context,
    )


def says_bad_credential(spec: ConnectionSpec, vendor_message: str | None) -> bool:
    """Whether the vendor's words say the credential is wrong (vendor_errors.auth_regex)."""
    rules = spec.vendor_errors
    pattern = rules.auth_regex() if rules else None
    return bool(pattern and vendor_message and pattern.search(vendor_message))


def _vendor_failure(
    data: Any, spec: ConnectionSpec, context: dict[str, Any]
) -> errors.CallError | None:
    """The failure a successful answer's body reports, by the connection's vendor_errors."""
    rules = spec.vendor_errors
    if rules is None or not isinstance(data, dict):
        return None
    failed = data.get(rules.status_field) in rules.error_values or any(
        isinstance(data.get(name), list) and data[name] for name in rules.error_list_fields
    )
    if not failed:
        return None
    parts: list[str] = []
    for name in rules.message_fields:
        value = data.get(name)
        if isinstance(value, list):
            parts.extend(str(v) for v in value if v)
        elif value:
            parts.append(str(value))
    message = "; ".join(dict.fromkeys(parts)) or "no message given"
    if says_bad_credential(spec, message):
        return errormap.FAILURES["vendor_credential"].build(
            f"{spec.name} rejected the credential: {message}", vendor_message=message, **context
        )
    return errormap.FAILURES["vendor_error"].build(
        f"{spec.name} reported a failure: {message}", vendor_message=message, **context
    )


def retry_after(headers: httpx.Headers) -> float | None:
    """The seconds the vendor asks us to wait (Retry-After or RateLimit-Reset), if it says."""
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
        raise AttemptFailed(
            errormap.FAILURES["not_json"].build(
                f"{connection} answered {response.status_code} with a body that is not JSON ({kind})"
                + (f": {snippet}" if snippet else "."),
                **context,
            )
        ) from None
