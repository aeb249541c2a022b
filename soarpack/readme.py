"""The README's blocks generated from code: the action catalogue, the exit codes and the
HTTP server's status table (`soarpack docs readme --write README.md`).

Apart from docs.py, which the server reads for its action descriptions: this module
reads the server's status table, so it sits above the server, beside the command line.
"""

from __future__ import annotations

from typing import Any

from soarpack.docs import CATALOGUE_END, CATALOGUE_START, catalogue_markdown
from soarpack.errors import ConfigError
from soarpack.exitcodes import DESCRIPTIONS, code_for_class
from soarpack.pack import Pack
from soarpack.server.errors import INTERNAL_STATUS, STATUS_TABLE, HttpProblem

EXIT_CODES_START = "<!-- exit-codes:start -->"
EXIT_CODES_END = "<!-- exit-codes:end -->"


def exit_codes_markdown() -> str:
    rows = [f"| {code} | {text} |" for code, text in sorted(DESCRIPTIONS.items())]
    return "\n".join([EXIT_CODES_START, "| code | meaning |", "|---|---|", *rows, EXIT_CODES_END])


HTTP_STATUSES_START = "<!-- http-statuses:start -->"
HTTP_STATUSES_END = "<!-- http-statuses:end -->"


def http_statuses_markdown() -> str:
    """The server's status table: error classes first (most specific first), then the
    refusals of the HTTP layer itself."""
    listed = {cls for cls, _ in STATUS_TABLE}

    def own_codes(cls: type[Any]) -> str:
        # Subclasses with an exit code of their own (a busy run is 13, not its parent's 4).
        found: list[str] = []
        todo: list[tuple[type[Any], type[Any]]] = [(s, cls) for s in cls.__subclasses__()]
        while todo:
            sub, parent = todo.pop(0)
            todo.extend((inner, sub) for inner in sub.__subclasses__())
            if sub not in listed and code_for_class(sub) != code_for_class(parent):
                found.append(f"`{sub.__name__}`: {code_for_class(sub)}")
        return f" ({', '.join(found)})" if found else ""

    rows = [
        f"| {status} | `{cls.__name__}` and subclasses{own_codes(cls)} | {code_for_class(cls)} |"
        for cls, status in STATUS_TABLE
    ]
    rows += [
        f"| {cls.status} | `{cls.__name__}` (server) | {cls.exit_code} |"
        for cls in HttpProblem.__subclasses__()
    ]
    rows.append(f"| {INTERNAL_STATUS} | anything else: a bug, details in the server log | 1 |")
    return "\n".join(
        [
            HTTP_STATUSES_START,
            "| status | error | CLI exit code of the class |",
            "|---|---|---|",
            *rows,
            HTTP_STATUSES_END,
        ]
    )


def generated_blocks(pack: Pack) -> list[tuple[str, str, str]]:
    """(start marker, end marker, content) of every README block generated from code."""
    return [
        (CATALOGUE_START, CATALOGUE_END, catalogue_markdown(pack)),
        (EXIT_CODES_START, EXIT_CODES_END, exit_codes_markdown()),
        (HTTP_STATUSES_START, HTTP_STATUSES_END, http_statuses_markdown()),
    ]


def update_readme(readme: str, pack: Pack) -> str:
    """`readme` with every generated block replaced by its current content."""
    for start_marker, end_marker, content in generated_blocks(pack):
        start, end = readme.find(start_marker), readme.find(end_marker)
        if start < 0 or end < start:
            raise ConfigError(
                f"The README has no {start_marker} ... {end_marker} block to replace."
            )
        readme = readme[:start] + content + readme[end + len(end_marker) :]
    return readme
