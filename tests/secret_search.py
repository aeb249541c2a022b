"""Finding a secret in an output the way a reader could: decode first, then look.

Written apart from the redactor on purpose (it shares no code with `secret_forms.py`),
so a form the redactor misses is found here. Every text is decoded zero, one or two
times by each of URL-decoding (`%XX`, and `+` as a space), HTML unescaping and JSON
unescaping, in every order, with all whitespace then removed (a secret split across
lines is whole again). Each decoded view is searched for the secret and its hex in any
letter case, and for the middle of its base64 at each of the three byte alignments
(so inside basic credentials or a longer encoded text too).
"""

from __future__ import annotations

import base64
import html
import re
from functools import cache
from urllib.parse import unquote, unquote_plus

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\([/\\\"nrt])")
_JSON_CHARS = {"n": "\n", "r": "\r", "t": "\t"}
_SPACE = re.compile(r"\s+")


def json_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1):
            return chr(int(match.group(1), 16))
        return _JSON_CHARS.get(match.group(2), match.group(2))

    return _JSON_ESCAPE.sub(one, text)


_DECODERS = (unquote, unquote_plus, html.unescape, json_unescape)


@cache
def needles(secret: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(looked for in any case: the secret and its hex, looked for as is: base64 cores)."""
    raw = secret.encode()
    cores = set()
    for pad in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\0" * pad + raw).decode()
            # Drop the characters that mix in the padding bytes or what follows.
            cores.add(text[(pad * 4 + 2) // 3 + 1 : -4])
    return (secret.lower(), raw.hex()), tuple(sorted(cores))


def views(text: str) -> set[str]:
    """`text` decoded every way up to two levels deep, whitespace removed."""
    found = {text}
    for _ in range(2):
        found |= {decode(view) for view in found for decode in _DECODERS}
    return {_SPACE.sub("", view) for view in found}


def leaks(secret: str, text: str) -> list[str]:
    """The forms of `secret` readable in `text` (empty: none)."""
    anycase, exact = needles(secret)
    seen = views(text)
    lowered = {view.lower() for view in seen}
    return [n for n in anycase if any(n in v for v in lowered)] + [
        n for n in exact if any(n in v for v in seen)
    ]
