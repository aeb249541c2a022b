"""`${{ ... }}` expressions: JMESPath over the run's data, never text substitution.

JMESPath is a query language with no side effects, no attribute access and no way
to reach Python objects, so an expression can only select and compare data.

    compile_value(value)  ->  the playbook value with every `${{ }}` string compiled
    resolve(compiled, scope)  ->  plain data: a whole-value expression keeps its type

Besides JMESPath's built-in functions, expressions may call ours (`functions.py`:
`netskope_quote()`, a value as a Netskope query literal).

Only strings written in the playbook file are compiled. What an expression returns
is inserted as data and never looked at again, so a vendor's alert title that holds
`${{ x }}`, `{{ x }}` or `<% x %>` stays the literal text it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath import exceptions as jp_errors
from jmespath.parser import ParsedResult

from soarpack.errors import ExpressionError, shortened
from soarpack.playbook.functions import options

_MARKER = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_OPEN = "${{"
# Nodes whose later children are evaluated against the left child's value, not the root.
_LEFT_ONLY = {"projection", "filter_projection", "index_expression", "pipe", "value_projection"}


@dataclass(frozen=True)
class Expression:
    """One compiled `${{ text }}`."""

    text: str
    parsed: ParsedResult

    def evaluate(self, scope: Mapping[str, Any]) -> Any:
        try:
            return self.parsed.search(scope, options=options())
        except jp_errors.JMESPathError as exc:
            raise ExpressionError(_plain(exc), expression=self.text) from None

    def references(self) -> list[tuple[str, ...]]:
        """The paths read from the top of the scope, e.g. ("steps", "get", "outputs", "id")."""
        return sorted(set(_root_paths(dict(self.parsed.parsed))))


@dataclass(frozen=True)
class Template:
    """A playbook string holding expressions. `whole` keeps the value's JSON type."""

    source: str
    parts: tuple[str | Expression, ...]

    @property
    def whole(self) -> bool:
        return len(self.parts) == 1 and isinstance(self.parts[0], Expression)

    def expressions(self) -> list[Expression]:
        return [p for p in self.parts if isinstance(p, Expression)]

    def render(self, scope: Mapping[str, Any]) -> Any:
        if self.whole:
            return self.expressions()[0].evaluate(scope)
        return "".join(
            part if isinstance(part, str) else _as_text(part.evaluate(scope)) for part in self.parts
        )


def compile_expression(text: str) -> Expression:
    """Compile the inside of one `${{ }}`; ExpressionError in plain words if it is not valid."""
    inner = text.strip()
    if not inner:
        raise ExpressionError("the expression is empty", expression=text)
    try:
        return Expression(inner, jmespath.compile(inner))
    except jp_errors.JMESPathError as exc:
        raise ExpressionError(_plain(exc), expression=inner) from None


def compile_template(source: str) -> str | Template:
    """The string itself when it holds no expression, else a Template."""
    if _OPEN not in source:
        return source
    parts: list[str | Expression] = []
    end = 0
    for match in _MARKER.finditer(source):
        if match.start() > end:
            parts.append(source[end : match.start()])
        parts.append(compile_expression(match.group(1)))
        end = match.end()
    if _OPEN in source[end:]:
        raise ExpressionError("`${{` is not closed with `}}`", expression=source[end:].strip())
    if end < len(source):
        parts.append(source[end:])
    return Template(source, tuple(parts))


def compile_value(value: Any) -> Any:
    """The playbook value with every string that holds `${{ }}` compiled to a Template."""
    if isinstance(value, str):
        return compile_template(value)
    if isinstance(value, dict):
        return {key: compile_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [compile_value(item) for item in value]
    return value


def resolve(compiled: Any, scope: Mapping[str, Any]) -> Any:
    """Plain data from a compiled value. Results are inserted as they are, never re-read."""
    if isinstance(compiled, Template):
        return compiled.render(scope)
    if isinstance(compiled, dict):
        return {key: resolve(item, scope) for key, item in compiled.items()}
    if isinstance(compiled, list):
        return [resolve(item, scope) for item in compiled]
    return compiled


def templates(compiled: Any, path: str = "") -> Iterator[tuple[str, Template]]:
    """Every Template in a compiled value with its dotted path (`with.user_uuid`)."""
    if isinstance(compiled, Template):
        yield path, compiled
    elif isinstance(compiled, dict):
        for key, item in compiled.items():
            yield from templates(item, f"{path}.{key}" if path else str(key))
    elif isinstance(compiled, list):
        for index, item in enumerate(compiled):
            yield from templates(item, f"{path}[{index}]")


def has_expression(compiled: Any) -> bool:
    return next(templates(compiled), None) is not None


def truthy(value: Any) -> bool:
    """JMESPath's truth: false, null, "", [] and {} are false; 0 is true."""
    return not (value is None or value is False or value in ("", [], {}))


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _plain(exc: jp_errors.JMESPathError) -> str:
    """The parser's complaint without its multi-line caret drawing."""
    if isinstance(exc, jp_errors.ParseError):
        token = exc.token_value if exc.token_value is not None else "end of expression"
        return f"syntax error at position {exc.lex_position} near {token!r}"
    if isinstance(exc, jp_errors.LexerError):
        return f"syntax error at position {exc.lexer_position} near {exc.lexer_value!r}"
    if isinstance(exc, jp_errors.UnknownFunctionError):
        return str(exc).replace("Unknown function: ", "unknown function ")
    if isinstance(exc, (jp_errors.ArityError, jp_errors.VariadictArityError)):
        return str(exc)
    if isinstance(exc, jp_errors.JMESPathTypeError):
        return (
            f"function {exc.function_name}() got {exc.actual_type} "
            f"({shortened(repr(exc.current_value))}), "
            f"expected {' or '.join(exc.expected_types)}"
        )
    return str(exc).splitlines()[0]


def _root_paths(node: dict[str, Any]) -> Iterator[tuple[str, ...]]:
    """Field chains read from the root scope (relative parts of projections are skipped)."""
    kind = node["type"]
    if kind == "field":
        yield (node["value"],)
    elif kind == "subexpression":
        chain: list[str] = []
        for child in node["children"]:
            if child["type"] == "field":
                chain.append(child["value"])
                continue
            if child["type"] == "index_expression" and child["children"][0]["type"] == "field":
                chain.append(child["children"][0]["value"])
            elif not chain:
                yield from _root_paths(child)
            break
        if chain:
            yield tuple(chain)
    elif kind in _LEFT_ONLY:
        yield from _root_paths(node["children"][0])
    elif kind != "expref":
        for child in node.get("children", []):
            yield from _root_paths(child)
