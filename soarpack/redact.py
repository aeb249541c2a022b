"""Keep secrets out of everything that leaves the process.

Secrets are registered once, when they are read from settings or obtained at run
time (a login that returns a session token registers it before returning). The
boundaries where text leaves the process (log formatter, error rendering, result
and journal serialization) call `redact` / `redact_data`; nothing else needs to
think about it.

Each secret is matched in every form a vendor may echo it in: as written, URL- and
double-URL-encoded, HTML- and JSON-escaped, hex, base64 (alone and inside the base64
of a longer text such as basic credentials), in any letter case and split across a
line break (`secret_forms.py` says how, and how texts without a secret stay cheap).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from soarpack.secret_forms import MIN_FORM_LENGTH, SecretMatcher, compile_matcher, whole_forms

MASK = "***"
# Shorter values would mask ordinary words; no real token is this short.
_MIN_SECRET_LENGTH = MIN_FORM_LENGTH

_lock = threading.Lock()
_secrets: set[str] = set()
# Swapped whole, so a reader on another thread sees one consistent matcher.
_pattern: SecretMatcher | None = None


def register_secret(value: str | None) -> None:
    """Mark `value` as secret from now on, in this process."""
    global _pattern
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _lock:
        before = len(_secrets)
        _secrets.update(whole_forms(value))
        if len(_secrets) != before:
            _pattern = compile_matcher(_secrets, _pattern)


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
    """A copy of JSON-like `value` with every string redacted (keys included); `value`
    itself when it holds no secret."""
    matcher = _pattern
    if matcher is None:
        return value
    # One test over all the strings at once: most results hold no secret, and testing
    # each of thousands of short strings alone costs more than the test itself.
    texts: list[str] = []
    _strings(value, texts)
    if not matcher.found_in("\0".join(texts)):
        return value
    return _redacted(value)


def _strings(value: Any, into: list[str]) -> None:
    if isinstance(value, str):
        into.append(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            into.append(str(key))
            _strings(item, into)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _strings(item, into)


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v) for v in value]
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
