"""The subset of the Netskope v1 query language the sandbox understands.

    expr       := and_expr ("or" and_expr)*
    and_expr   := term ("and" term)*
    term       := "(" expr ")" | field [op operand]
    op         := eq | ne | like | in | gt | ge | lt | le
    operand    := value | "[" value ("," value)* "]"        (a list only after `in`)
    value      := 'quoted' | "quoted" | number | bareword

Examples: `host_info.hostname eq 'LT-1A2B3C' or host_info.hostname eq 'LT-4D5E6F'`,
`users.username in ['a@example.com', 'b@example.com']`, `last_event.status eq 0`,
`alert_type eq DLP` (a bare word is a string, as in the vendor's report example).

A field with no operator is a presence test: the vendor's own clients example sends
`"query": "host_info"`, so it has to mean something other than a syntax error.

Semantics:
- A dotted field walks objects and lists: `users.username` yields the username of
  every entry of `users`, and a comparison holds if it holds for any of them.
  `ne` is the negation of `eq` (no value equals), so a missing field is `ne` anything.
- A string record value compares as a string; any other value compares numerically
  (a query value that is not a number then never matches).
- `like` is a case-insensitive substring test on the value's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Predicate", "QueryError", "compile_query", "field_values"]

Predicate = Callable[[Mapping[str, Any]], bool]

_OPERATORS = frozenset({"eq", "ne", "like", "in", "gt", "ge", "lt", "le"})
_CONNECTIVES = frozenset({"and", "or"})


class QueryError(ValueError):
    """The query text is not valid; `position` is the 0-based offset of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position}")
        self.reason = message
        self.position = position


# --- tokens -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # word, string, number, punct, end
    text: str  # the value for strings (unescaped), the source text otherwise
    position: int


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?![\w.])")
# Field names and bare words: letters, digits, _, ., - and @ (so an email or a version
# like 95.1.0 can go unquoted).
_WORD = re.compile(r"\w[\w.@-]*")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char in "()[],":
            tokens.append(_Token("punct", char, i))
            i += 1
        elif char in "'\"":
            value, i_next = _read_string(text, i)
            tokens.append(_Token("string", value, i))
            i = i_next
        elif number := _NUMBER.match(text, i):
            tokens.append(_Token("number", number.group(), i))
            i = number.end()
        elif word := _WORD.match(text, i):
            tokens.append(_Token("word", word.group(), i))
            i = word.end()
        else:
            raise QueryError(f"unexpected character {char!r}", i)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
        elif char == quote:
            return "".join(chars), i + 1
        else:
            chars.append(char)
            i += 1
    raise QueryError("unterminated string", start)


# --- evaluation ---------------------------------------------------------------------


def field_values(record: Any, path: str) -> list[Any]:
    """Every value at dotted `path` in `record`, walking into lists at any level."""
    current: list[Any] = [record]
    for part in path.split("."):
        found: list[Any] = []
        for item in _flatten(current):
            if isinstance(item, Mapping) and part in item:
                found.append(item[part])
        current = found
    return list(_flatten(current))


def _flatten(values: Sequence[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, list):
            yield from _flatten(value)
        else:
            yield value


@dataclass(frozen=True)
class _Literal:
    text: str

    def as_number(self) -> float | None:
        try:
            return float(self.text)
        except ValueError:
            return None


def _compare(op: str, value: Any, literal: _Literal) -> bool:
    if value is None or isinstance(value, (Mapping, list)):
        return False
    if isinstance(value, str):
        left: Any = value
        right: Any = literal.text
    else:
        number = literal.as_number()
        if number is None:
            return False
        left, right = float(value), number
    if op == "eq":
        return bool(left == right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    raise AssertionError(f"unhandled operator {op}")


def _text(value: Any) -> str:
    # Numbers print as the API would send them (1, not 1.0) so `like '1'` finds 1.
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _comparison(field: str, op: str, literals: list[_Literal]) -> Predicate:
    def any_equal(record: Mapping[str, Any]) -> bool:
        values = field_values(record, field)
        return any(_compare("eq", v, lit) for v in values for lit in literals)

    if op in ("eq", "in"):
        return any_equal
    if op == "ne":
        return lambda record: not any_equal(record)
    if op == "like":
        needle = literals[0].text.lower()
        return lambda record: any(
            v is not None and needle in _text(v).lower() for v in field_values(record, field)
        )
    literal = literals[0]
    return lambda record: any(_compare(op, v, literal) for v in field_values(record, field))


def _present(field: str) -> Predicate:
    return lambda record: any(v is not None for v in field_values(record, field))


def _both(left: Predicate, right: Predicate) -> Predicate:
    return lambda record: left(record) and right(record)


def _either(left: Predicate, right: Predicate) -> Predicate:
    return lambda record: left(record) or right(record)


def _always(record: Mapping[str, Any]) -> bool:
    return True


# --- parsing ------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        self._tokens = _tokenize(text)
        self._index = 0

    @property
    def _current(self) -> _Token:
        return self._tokens[self._index]

    def _advance(self) -> _Token:
        token = self._current
        self._index += 1
        return token

    def _is_keyword(self, words: frozenset[str]) -> bool:
        token = self._current
        return token.kind == "word" and token.text.lower() in words

    def _is_punct(self, char: str) -> bool:
        return self._current.kind == "punct" and self._current.text == char

    def _expect_punct(self, char: str, context: str) -> None:
        if not self._is_punct(char):
            raise QueryError(f"expected '{char}' {context}, found {self._describe()}", self._pos())
        self._advance()

    def _pos(self) -> int:
        return self._current.position

    def _describe(self) -> str:
        token = self._current
        if token.kind == "end":
            return "end of query"
        if token.kind == "string":
            return f"string {token.text!r}"
        return repr(token.text)

    def parse(self) -> Predicate:
        if self._current.kind == "end":
            return _always
        predicate = self._or()
        if self._current.kind != "end":
            raise QueryError(f"expected 'and', 'or' or end, found {self._describe()}", self._pos())
        return predicate

    def _or(self) -> Predicate:
        predicate = self._and()
        while self._is_keyword(frozenset({"or"})):
            self._advance()
            predicate = _either(predicate, self._and())
        return predicate

    def _and(self) -> Predicate:
        predicate = self._term()
        while self._is_keyword(frozenset({"and"})):
            self._advance()
            predicate = _both(predicate, self._term())
        return predicate

    def _term(self) -> Predicate:
        if self._is_punct("("):
            self._advance()
            predicate = self._or()
            self._expect_punct(")", "to close the group")
            return predicate
        token = self._current
        if token.kind != "word" or self._is_keyword(_OPERATORS | _CONNECTIVES):
            raise QueryError(f"expected a field name, found {self._describe()}", token.position)
        field = self._advance().text
        if self._current.kind == "end" or self._is_punct(")") or self._is_keyword(_CONNECTIVES):
            return _present(field)
        if not self._is_keyword(_OPERATORS):
            ops = ", ".join(sorted(_OPERATORS))
            raise QueryError(
                f"expected an operator ({ops}) after {field!r}, found {self._describe()}",
                self._pos(),
            )
        op = self._advance().text.lower()
        if op == "in":
            return _comparison(field, op, self._list())
        return _comparison(field, op, [self._value()])

    def _list(self) -> list[_Literal]:
        self._expect_punct("[", "after 'in'")
        values = [self._value()]
        while self._is_punct(","):
            self._advance()
            values.append(self._value())
        self._expect_punct("]", "to close the list")
        return values

    def _value(self) -> _Literal:
        token = self._current
        if token.kind in ("string", "number") or (
            token.kind == "word" and not self._is_keyword(_OPERATORS | _CONNECTIVES)
        ):
            self._advance()
            return _Literal(token.text)
        raise QueryError(f"expected a value, found {self._describe()}", token.position)


def compile_query(text: str | None) -> Predicate:
    """Parse `text` into a predicate over records; empty or None matches everything.

    Raises QueryError (a ValueError) naming the position of the first problem.
    """
    if text is None:
        return _always
    return _Parser(text).parse()
