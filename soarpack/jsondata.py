"""Untrusted JSON text and JSON-shaped data, checked before anything else looks inside.

Two entry points, used wherever input comes from outside:

- `decode_object` turns JSON text (a request body, `--input`, an input file) into a
  dict, or raises InputError. It refuses duplicate keys (JSON allows them and Python's
  decoder keeps the last one silently: two readers of one body could disagree on what
  it says), NaN and Infinity, nesting deeper than MAX_DEPTH, and strings that cannot be
  encoded as UTF-8.
- `problems` checks data already in memory (what a Python caller hands to
  Engine.invoke, a playbook's inputs) for the same nesting, encoding and number faults.

Neither recurses: Python's decoder, jsonschema and our own walks recurse once per level
of nesting, and a 2 KB body nested 900 deep was enough to reach the interpreter's
recursion limit. The decoder never sees text deeper than MAX_DEPTH: the brackets are
counted first, and anything nested deeper is replaced by a marker so the error can name
the field where the nesting went too deep.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from soarpack.errors import FieldError, InputError, shortened

# Far deeper than any action's inputs or playbook's data, far below the recursion limit.
MAX_DEPTH = 64
# Past this, more problems would only repeat themselves (a body of 10,000 bad strings).
MAX_PROBLEMS = 20

_TOO_DEEP_MESSAGE = f"is nested deeper than {MAX_DEPTH} levels"
_ENCODING_MESSAGE = (
    "is not a valid Unicode string (it holds a lone surrogate such as \\ud800, which "
    "cannot be encoded as UTF-8)"
)

_NOT_FINITE_MESSAGE = "is NaN or an infinite number, which JSON cannot carry"

# A JSON string (its escapes included), or a run of opening or of closing brackets.
# Strings are matched whole so the brackets inside them are not counted.
_STRING = r'"[^"\\]*(?:\\.[^"\\]*)*"'
_TOKENS = re.compile(_STRING + r"|[\[{]+|[\]}]+", re.DOTALL)
_STRINGS = re.compile(_STRING, re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
# Depth does not depend on the kind of bracket: one kind, so one replace is one level.
_ONE_KIND = str.maketrans("{}", "[]")
# The escape of a UTF-16 surrogate: alone (not in a pair) it decodes to a str that
# cannot be encoded as UTF-8.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _TooDeep:
    """Stands where the decoder was spared a value nested too deep."""


_TOO_DEEP = _TooDeep()


class _Duplicated(dict[str, Any]):
    """An object whose text repeats keys: the repeated ones, for the error."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        seen: set[str] = set()
        repeated: dict[str, None] = {}  # in the order they repeat, each once
        for key, _ in pairs:
            if key in seen:
                repeated[key] = None
            seen.add(key)
        self.repeated = list(repeated)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads(text: str) -> tuple[Any, list[FieldError]]:
    """The decoded value and what is wrong inside it (empty: nothing). Raises ValueError
    (json.JSONDecodeError for syntax) for text that is not JSON at all."""
    pruned, marker = _prune(text)
    repeated: list[bool] = []

    def number(literal: str) -> Any:
        return _TOO_DEEP if literal == marker else float(literal)

    def mapping(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) == len(pairs):
            return found
        repeated.append(True)
        return _Duplicated(pairs)

    value = json.loads(
        pruned, object_pairs_hook=mapping, parse_constant=_refuse_constant, parse_float=number
    )
    # The walk costs as much as the decoding: only when the text can hold a problem.
    if marker is None and not repeated and not _may_hold_surrogates(text):
        return value, []
    return value, problems(value)


def _may_hold_surrogates(text: str) -> bool:
    if not text.isascii() and not _encodable(text):
        return True  # a str that never was UTF-8 (argv's surrogateescape)
    return _SURROGATE_ESCAPE.search(text) is not None


def decode_object(text: str, where: str, origin: str) -> dict[str, Any]:
    """JSON text that must hold an object (blank text: {}), or InputError for `where`
    (the action) saying what is wrong with `origin` ("the request body", "--input").
    No part of the text is quoted: it may hold anything."""
    if not text.strip():
        return {}
    try:
        value, found = loads(text)
    except json.JSONDecodeError as exc:
        why = f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        raise InputError(where, [FieldError("", "json", why)]) from None
    except ValueError as exc:
        raise InputError(
            where, [FieldError("", "json", f"{origin} is not valid JSON: {exc}")]
        ) from None
    if found:
        raise InputError(where, found)
    if not isinstance(value, dict):
        kind = "an array" if isinstance(value, list) else f"a {type(value).__name__}"
        raise InputError(
            where, [FieldError("", "type", f"{origin} must be a JSON object, not {kind}")]
        )
    return value


def problems(value: Any) -> list[FieldError]:
    """Nesting deeper than MAX_DEPTH, strings (and keys) that cannot be encoded as UTF-8,
    and repeated keys of decoded text, each at its field; iterative, at most MAX_PROBLEMS.
    A structure that contains itself is reported as nested too deep."""
    found: list[FieldError] = []
    # (value, its depth, its path as a chain of (parent chain, key) pairs)
    todo: list[tuple[Any, int, Any]] = [(value, 0, None)]
    while todo and len(found) < MAX_PROBLEMS:
        item, depth, path = todo.pop()
        if isinstance(item, str):
            if not item.isascii() and not _encodable(item):
                found.append(FieldError(_pointer(path), "encoding", _ENCODING_MESSAGE))
        elif item is _TOO_DEEP or (isinstance(item, (dict, list)) and depth >= MAX_DEPTH):
            found.append(FieldError(_pointer(path), "depth", _TOO_DEEP_MESSAGE))
        elif isinstance(item, dict):
            if isinstance(item, _Duplicated):
                for key in item.repeated[: MAX_PROBLEMS - len(found)]:
                    found.append(
                        FieldError(
                            _pointer((path, key)),
                            "duplicate",
                            "appears more than once in the object",
                        )
                    )
            for key, inner in item.items():
                if isinstance(key, str) and not key.isascii() and not _encodable(key):
                    found.append(FieldError(_pointer((path, key)), "encoding", _ENCODING_MESSAGE))
                    continue
                todo.append((inner, depth + 1, (path, key)))
        elif isinstance(item, (list, tuple)):
            todo.extend((inner, depth + 1, (path, n)) for n, inner in enumerate(item))
        elif isinstance(item, float) and not math.isfinite(item):
            # JSON has no such number: a vendor (or a worker) could not read the request.
            found.append(FieldError(_pointer(path), "number", _NOT_FINITE_MESSAGE))
    return found[:MAX_PROBLEMS]


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def pointer(*keys: Any) -> str:
    """The JSON pointer of `keys`, each shown safely (a key that is not UTF-8 is shown
    with escapes, a long one shortened), since pointers go into messages."""
    parts = []
    for key in keys:
        text = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
        parts.append(shortened(text.replace("~", "~0").replace("/", "~1")))
    return "".join(f"/{part}" for part in parts)


def _pointer(path: Any) -> str:
    """The JSON pointer of a path chain of (parent chain, key) pairs."""
    keys: list[Any] = []
    while path is not None:
        path, key = path
        keys.append(key)
    return pointer(*reversed(keys))


def _prune(text: str) -> tuple[str, str | None]:
    """The text with every value nested deeper than MAX_DEPTH replaced by a number
    literal found nowhere in it (returned too; None when nothing was deep enough)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH or _shallow(text):
        return text, None
    spans: list[tuple[int, int]] = []
    depth = 0
    start = 0
    limit = MAX_DEPTH + 1  # the first level pruned
    for match in _TOKENS.finditer(text):
        run = match.end() - match.start()
        mark = text[match.start()]
        if mark in "[{":
            if depth < limit <= depth + run:
                start = match.start() + (limit - depth - 1)
            depth += run
        elif mark in "]}":
            if depth >= limit > depth - run:
                spans.append((start, match.start() + (depth - limit) + 1))
            depth = max(depth - run, 0)
    if depth >= limit:  # never closed: the decoder will say the text is not JSON
        spans.append((start, len(text)))
    if not spans:
        return text, None
    marker = "-0.0e-0"
    while marker in text:
        marker += "0"
    pieces: list[str] = []
    done = 0
    for begin, end in spans:
        pieces += [text[done:begin], marker]
        done = end
    pieces.append(text[done:])
    return "".join(pieces), marker


def _shallow(text: str) -> bool:
    """Whether the brackets (outside strings) nest at most MAX_DEPTH deep, at C speed:
    each round deletes every innermost pair, so MAX_DEPTH rounds leave nothing of a
    balanced text that deep. Unbalanced text is not shallow (the full scan decides);
    a `[` closed by `}` counts as a pair, which the decoder then refuses."""
    skeleton = _NOT_BRACKETS.sub("", _STRINGS.sub("", text)).translate(_ONE_KIND)
    for _ in range(MAX_DEPTH):
        if not skeleton:
            return True
        # Non-overlapping: a pair this makes adjacent is left for the next round.
        shorter = skeleton.replace("[]", "")
        if len(shorter) == len(skeleton):
            return False
        skeleton = shorter
    return not skeleton
