"""Keep secrets out of everything that leaves the process.

Secrets are registered once, when they are read from settings or obtained at run
time (a login that returns a session token registers it before returning). The
boundaries where text leaves the process (log formatter, error rendering, result
and journal serialization) call `redact` / `redact_data`; nothing else needs to
think about it.

Each secret is matched as written, URL-encoded, and base64-encoded (alone and as
the password half of HTTP basic credentials), because those are the forms in which
a token ends up in URLs and headers.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# Shorter values would mask ordinary words; no real token is this short.
_MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def _variants(secret: str) -> set[str]:
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    forms.add(base64.b64encode(raw).decode().rstrip("="))
    forms.add(base64.urlsafe_b64encode(raw).decode().rstrip("="))
    return {f for f in forms if len(f) >= _MIN_SECRET_LENGTH}


def register_secret(value: str | None) -> None:
    """Mark `value` as secret from now on, in this process."""
    global _pattern
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        before = len(_secrets)
        _secrets.update(_variants(value))
        if len(_secrets) != before:
            # Longest first, so a secret that contains another is masked whole.
            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def forget_all_secrets() -> None:
    """Drop every registered secret (tests use it to start clean)."""
    global _pattern
    with _lock:
        _secrets.clear()
        _pattern = None


def redact(text: str) -> str:
    """`text` with every registered secret replaced by the mask."""
    pattern = _pattern
    if pattern is None or not text:
        return text
    return pattern.sub(MASK, text)


def redact_data(value: Any) -> Any:
    """A copy of JSON-like `value` with every string redacted (keys included)."""
    if _pattern is None:
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_data(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v) for v in value]
    return value


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line passes through `redact`, tracebacks included."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class RedactingFilter(logging.Filter):
    """Redacts records in place, for the loggers of libraries we do not format: httpx logs
    every request's URL at INFO, and a vendor may force the token into the query string."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is not None:
            record.msg = redact(record.getMessage())
            record.args = ()
        return True
