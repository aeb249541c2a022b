"""Read the Lacework Edge API 1.0 document (seed 002) into plain operation records.

The seed is a text rendering of the vendor's API reference. Each operation is:

    <summary heading>
    [description lines]
    [path Parameters / query Parameters: rows "name [required] | type [Enum: ...] desc |"]
    [Request Body schema: application/json[required], a description line, rows]
    Responses
    [Request samples, "- Payload", a sample body]
    Response samples, "- 200" "- 400" ..., a sample body (sometimes rendered twice)

Sample bodies are JSON with a "- " bullet before each item. Table rows for nested
objects lost their names in the rendering ("object (proto.App) |"); they are matched
to the request sample's keys, which come in the same (alphabetical) order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SECTION = re.compile(
    r"^(path Parameters|query Parameters|Request Body schema: application/json(required)?|Responses)$"
)
_TYPE = re.compile(
    r"^(?P<type>Array of (?:strings|integers|numbers|booleans|objects)|string|integer|number"
    r"|boolean|object)"
    r"(?:\s*\((?P<format>[^)]*)\))?"
    r"(?:\s*(?:Items )?Enum:(?P<enum>(?:\s+(?:\"[^\"]*\"|-?\d+)(?=\s|$))+))?"
    r"(?P<desc>.*)$",
    re.DOTALL,
)
_BULLET = re.compile(r"(^|[\[{,]\s*)- ")


class SeedError(ValueError):
    """Raised when the seed does not have the shape this reader expects."""


@dataclass
class Param:
    """One table row. `name` is None for the nameless object rows of request bodies."""

    name: str | None
    type: str
    required: bool = False
    format: str | None = None
    enum: list[Any] | None = None
    description: str = ""


@dataclass
class Operation:
    summary: str
    description: str
    path_params: list[Param] = field(default_factory=list)
    query_params: list[Param] = field(default_factory=list)
    body: list[Param] | None = None
    body_required: bool = False
    body_description: str = ""
    request_sample: Any = None
    responses: list[int] = field(default_factory=list)
    response_sample: Any = None


def read_seed(path: Path) -> list[Operation]:
    lines = [line.rstrip("\n") for line in path.read_text(encoding="utf-8").splitlines()]
    if not lines or not lines[0].startswith("Lacework Edge API"):
        raise SeedError(f"{path} does not start with the Lacework Edge API title")
    cursor = _Cursor(lines, 3)  # title, download link, one-line introduction
    operations = []
    while not cursor.done():
        operations.append(_operation(cursor))
    return operations


class _Cursor:
    def __init__(self, lines: list[str], at: int) -> None:
        self.lines = lines
        self.at = at

    def done(self) -> bool:
        return self.at >= len(self.lines)

    def peek(self) -> str:
        return self.lines[self.at]

    def take(self) -> str:
        line = self.lines[self.at]
        self.at += 1
        return line

    def where(self) -> str:
        return f"seed line {self.at + 1}"


def _operation(cur: _Cursor) -> Operation:
    heading = [cur.take()]
    while not SECTION.match(cur.peek()):
        heading.append(cur.take())
    op = Operation(summary=heading[0].strip(), description=" ".join(heading[1:]).strip())
    while True:
        line = cur.take()
        if line == "path Parameters":
            op.path_params = _rows(cur)
        elif line == "query Parameters":
            op.query_params = _rows(cur)
        elif line.startswith("Request Body schema"):
            op.body_required = line.endswith("required")
            if not cur.peek().endswith("|"):
                op.body_description = cur.take().strip()
            op.body = _rows(cur)
        elif line == "Responses":
            break
        else:
            raise SeedError(f"{cur.where()}: unexpected {line!r} in {op.summary!r}")
    if not cur.done() and cur.peek() == "Request samples":
        cur.take()
        if cur.take() != "- Payload":
            raise SeedError(f"{cur.where()}: request sample without a payload marker")
        op.request_sample = _sample(cur)
    while not cur.done() and cur.peek() == "Response samples":
        cur.take()
        codes = []
        while not cur.done() and re.fullmatch(r"- \d{3}", cur.peek()):
            codes.append(int(cur.take()[2:]))
        sample = _sample(cur) if not cur.done() and cur.peek().startswith(("{", "[")) else None
        if not op.responses:  # the rendering sometimes repeats the block
            op.responses, op.response_sample = codes, sample
    return op


def _rows(cur: _Cursor) -> list[Param]:
    rows = []
    while not cur.done() and not SECTION.match(cur.peek()):
        text = cur.take()
        while not text.rstrip().endswith("|"):  # a description may run over lines
            text += "\n" + cur.take()
        rows.append(_param(text, cur))
    return rows


def _param(text: str, cur: _Cursor) -> Param:
    body = text.rstrip().removesuffix("|").rstrip()
    if body.startswith(("object", "Array of objects")):
        name, required, rest = None, False, body.removesuffix("|").strip()
    else:
        left, sep, rest = body.partition(" | ")
        if not sep:
            raise SeedError(f"{cur.where()}: cannot read parameter row {text!r}")
        words = left.split()
        name, required = words[0], words[1:] == ["required"]
    match = _TYPE.match(rest.strip())
    if match is None:
        raise SeedError(f"{cur.where()}: unknown type in {text!r}")
    enum = None
    if match["enum"]:
        enum = [json.loads(token) for token in re.findall(r"\"[^\"]*\"|-?\d+", match["enum"])]
    description = " ".join(match["desc"].replace("|", " ").split())
    if (name is not None and description in ("required",)) or description.endswith(" required"):
        # Some bodies say "required" in the description column instead of the flag.
        required = True
        description = description.removesuffix("required").strip()
    return Param(name, match["type"], required, match["format"], enum, description)


def _sample(cur: _Cursor) -> Any:
    """Read one bulleted JSON sample: lines until the brackets balance."""
    parts: list[str] = []
    depth = 0
    while True:
        line = cur.take()
        parts.append(line)
        depth += _depth_change(line)
        if depth <= 0:
            break
    text = _BULLET.sub(r"\1", " ".join(parts))
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SeedError(f"{cur.where()}: sample is not JSON after unbulleting: {exc}") from None


def _depth_change(line: str) -> int:
    # Strings in samples never contain brackets except inside quotes; skip quoted text.
    bare = re.sub(r"\"(?:[^\"\\]|\\.)*\"", "", line)
    return bare.count("{") + bare.count("[") - bare.count("}") - bare.count("]")
