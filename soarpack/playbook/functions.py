"""Functions that playbook expressions may call beyond JMESPath's built-in ones.

    netskope_quote(value)   a value as a Netskope query literal that cannot end early

Netskope's query language (REST API v1: Get Client Data and Get Alerts) writes string
values in single quotes, `host_info.hostname eq 'xxx'`, and documents no escape for a
quote inside them. So a string holding `'` cannot be written as one literal at all, and
with a backslash it is unknown whether the tenant reads an escape: both are refused
(the pack's own clause inputs refuse them the same way, `quoted_value`), never guessed.
Without this, `user eq '${{ inputs.user }}'` given `nobody' or user ne 'x` asks for
every alert but one user's.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import jmespath
from jmespath import exceptions as jp_errors
from jmespath import functions

QUOTE_FUNCTION = "netskope_quote"
# What the Netskope query syntax cannot hold inside a quoted literal.
_UNQUOTABLE = ("'", "\\")
_DECIMAL = re.compile(r"-?\d+(?:\.\d+)?")


class FunctionError(jp_errors.JMESPathError):
    """A function refused its argument; the message says why in plain words."""


class PlaybookFunctions(functions.Functions):
    """JMESPath's functions plus ours (the method name after `_func_` is the name)."""

    @functions.signature({"types": []})
    def _func_netskope_quote(self, value: Any) -> str:
        return netskope_literal(value)


def netskope_literal(value: Any) -> str:
    """`value` as a Netskope query literal: a string in single quotes, a number bare, a list
    as `['a', 'b']` (for `in`). FunctionError for anything that cannot be written safely."""
    if isinstance(value, list):
        if not value:
            raise FunctionError(f"{QUOTE_FUNCTION}() got an empty list: `in []` matches nothing")
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        kind = "null" if value is None else type(value).__name__
        kind = {"dict": "object", "list": "list", "bool": "boolean"}.get(kind, kind)
        raise FunctionError(
            f"{QUOTE_FUNCTION}() takes a string, a number or a list of them, not {kind}"
        )
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # The syntax's numbers are digits with an optional fraction: no exponent, no inf.
        written = str(int(value)) if value.is_integer() else repr(value)
        if not _DECIMAL.fullmatch(written):
            raise FunctionError(f"{QUOTE_FUNCTION}() cannot write {value!r} as a query number")
        return written
    text = str(value)
    bad = [c for c in _UNQUOTABLE if c in text]
    if bad:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise FunctionError(
            f"{QUOTE_FUNCTION}() refuses {shown!r}: it holds {' and '.join(map(repr, bad))}, "
            "which the Netskope query syntax has no escape for (the value could end the "
            "quoted literal and add terms to the query)"
        )
    return f"'{text}'"


@cache
def options() -> jmespath.Options:
    """The search options every playbook expression is evaluated with."""
    return jmespath.Options(custom_functions=PlaybookFunctions())
