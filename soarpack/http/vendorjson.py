"""Vendor JSON, decoded so that every string in it can be encoded as UTF-8.

JSON text may escape a lone UTF-16 surrogate (`"\\ud800"`: half of a pair, without its
other half), and Python's decoder turns it into a str holding that surrogate; it also
lets bytes that encode one (ED A0 80, which is not UTF-8) through. Such a str cannot be
encoded as UTF-8, so no output could carry it: the journal, the CLI's output and the
server's answer all failed on it, after the request had been sent (a write was made, and
its run died). So where vendor JSON enters, each lone surrogate becomes U+FFFD, the
replacement character; every other character the vendor sent is kept, a valid
surrogate pair included. Two keys of one object that differ only there become one key.

`loads` decodes an answer body; `scrub` cleans data already decoded (a YAML file);
`scrub_escapes` rewrites the escapes in raw JSON bytes that are passed on undecoded
(the ingest's records), keeping every other byte and the length.
"""

from __future__ import annotations

import json
import re
from typing import Any

REPLACEMENT = "\ufffd"

_SURROGATE = re.compile("[\ud800-\udfff]")
# What may hold a lone surrogate: its escape, or the bytes that would encode one in UTF-8.
_CANDIDATE = re.compile(rb"\\u[dD][89a-fA-F]|\xed[\xa0-\xbf]")
# An escaped backslash (so the `u` after it starts no escape), a valid pair, or a lone one.
_ESCAPES = re.compile(
    rb"\\\\"
    rb"|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    rb"|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
_LONE_LENGTH = 6  # \uXXXX


def loads(content: bytes) -> Any:
    """The decoded JSON of an answer body, lone surrogates replaced. Raises what
    json.loads raises (ValueError, RecursionError) for a body that is not JSON."""
    value = json.loads(content)
    if not _may_hold(content):
        return value
    return scrub(value)


def _may_hold(content: bytes) -> bool:
    # JSON in UTF-16 or UTF-32 (json.loads reads those too) is rare: always checked.
    return _CANDIDATE.search(content) is not None or json.detect_encoding(content) != "utf-8"


def scrub(value: Any) -> Any:
    """`value` with a lone surrogate in any string (keys included) replaced by U+FFFD.

    Dicts and lists are changed in place (they are fresh from a decoder); the walk does
    not recurse, so any depth the decoder built is fine."""
    if isinstance(value, str):
        return _fixed(value)
    todo: list[Any] = [value]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if any(isinstance(key, str) and _SURROGATE.search(key) for key in node):
                items = [(_fixed(k) if isinstance(k, str) else k, v) for k, v in node.items()]
                node.clear()
                node.update(items)
            for key, item in node.items():
                if isinstance(item, str):
                    if _SURROGATE.search(item):
                        node[key] = _fixed(item)
                elif isinstance(item, (dict, list)):
                    todo.append(item)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    if _SURROGATE.search(item):
                        node[index] = _fixed(item)
                elif isinstance(item, (dict, list)):
                    todo.append(item)
    return value


def _fixed(text: str) -> str:
    # Decoded, a valid pair is one character already: a surrogate left is a lone one.
    return _SURROGATE.sub(REPLACEMENT, text)


def scrub_escapes(raw: bytes) -> bytes:
    """Raw JSON text with each lone surrogate escape replaced by `\\ufffd` (the same
    length, so offsets into it stay valid); every other byte is kept."""
    if _CANDIDATE.search(raw) is None:
        return raw

    def replace(match: re.Match[bytes]) -> bytes:
        found = match.group()
        return b"\\ufffd" if len(found) == _LONE_LENGTH else found

    return _ESCAPES.sub(replace, raw)
