"""A careless vendor: an error that quotes back the credential it was sent, in each form
real services have been seen to echo one (the `echo_credential` fault).

The forms are those a redactor has to catch: as sent, lowercased and uppercased,
URL-, form- and double-URL-encoded, HTML-escaped (numeric, hex and named entities),
JSON-escaped (`\\u002d`, as a service that escapes twice leaves it), hex, base64
(standard, URL-safe, and inside HTTP basic credentials), and split across line breaks.
"""

from __future__ import annotations

import base64
import html.entities
from collections.abc import Callable
from functools import cache
from urllib.parse import quote, quote_plus

from starlette.responses import JSONResponse, Response

__all__ = ["echo_response", "echoed_forms"]

_STATUS = 400


def echoed_forms(credential: str) -> dict[str, str]:
    """Each form of `credential`, by name."""
    raw = credential.encode()
    half = len(credential) // 2
    b64 = base64.b64encode(raw).decode()
    return {
        "as sent": credential,
        "lowercased": credential.lower(),
        "uppercased": credential.upper(),
        "url-encoded": quote(credential, safe=""),
        "form-encoded": quote_plus(credential),
        "double url-encoded": quote(quote(credential, safe=""), safe=""),
        "html numeric entities": _escape(credential, lambda c: f"&#{ord(c)};"),
        "html hex entities": _escape(credential, lambda c: f"&#x{ord(c):X};"),
        "html named entities": _escape(credential, _named_entity),
        "json-escaped": _escape(credential, lambda c: f"\\u{ord(c):04x}"),
        "hex": raw.hex(),
        "hex uppercase": raw.hex().upper(),
        "base64": b64,
        "base64 url-safe": base64.urlsafe_b64encode(raw).decode(),
        "basic credentials": base64.b64encode(b"api:" + raw).decode(),
        "split across a line break": f"{credential[:half]}\r\n    {credential[half:]}",
        "split in base64": f"{b64[:7]}\n{b64[7:]}",
    }


def echo_response(credential: str | None) -> Response:
    """The error answer: every form, one a line (nothing to echo: says so)."""
    if not credential:
        return JSONResponse({"message": "no credential was sent"}, status_code=_STATUS)
    lines = [f"{name}: {form}" for name, form in echoed_forms(credential).items()]
    message = "request refused; credential received:\n" + "\n".join(lines)
    return JSONResponse({"message": message}, status_code=_STATUS)


def _escape(text: str, escape: Callable[[str], str]) -> str:
    return "".join(c if c.isalnum() else escape(c) for c in text)


def _named_entity(char: str) -> str:
    name = _entity_names().get(char)
    return f"&{name}" if name else char


@cache
def _entity_names() -> dict[str, str]:
    """One HTML5 entity name (with its `;`) per character that has one."""
    names: dict[str, str] = {}
    for name, text in sorted(html.entities.html5.items()):
        if name.endswith(";") and len(text) == 1:
            names.setdefault(text, name)
    return names
