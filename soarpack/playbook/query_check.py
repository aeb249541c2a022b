"""The `validate` warning for a query built from data (issue 17, section 7).

A step input named `query` that writes an expression's value into longer text, as in
`user eq '${{ inputs.user }}'`, lets a value holding a quote add terms of its own:
`nobody' or user ne 'x` asks for every alert but one user's. The value should go
through `netskope_quote()` (`functions.py`), which quotes it and refuses one it cannot.
A warning, not an error: the value may be known to be safe in ways the check cannot see.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TypeGuard

from soarpack.playbook.expressions import Expression, templates
from soarpack.playbook.functions import QUOTE_FUNCTION

WARNING = "warning"
QUERY_FIELD = "query"


def query_warnings(with_: Any, inputs: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, message) for each unquoted or doubly quoted value in a `query` input of a
    step's compiled `with`; `inputs` is the playbook's input schema."""
    props = inputs.get("properties") or {}
    for path, template in templates(with_, "with"):
        if path.rsplit(".", 1)[-1] != QUERY_FIELD or template.whole:
            continue  # a whole query from an input is the caller's query, meant as one
        for before, part in zip(template.parts, template.parts[1:], strict=False):
            if isinstance(before, str) and before.endswith("'") and _is_quote_call(part):
                yield (
                    path,
                    (
                        f"{QUOTE_FUNCTION}() writes the quotes itself: drop the ones around "
                        f"${{{{ {part.text} }}}}"
                    ),
                )
        for expression in template.expressions():
            if not _is_quote_call(expression) and not _plain_inputs(expression, props):
                yield (
                    path,
                    (
                        f"${{{{ {expression.text} }}}} is written into the query as text, so a "
                        "value holding a quote can change what the query asks for: write "
                        f"${{{{ {QUOTE_FUNCTION}({expression.text}) }}}} without quotes around "
                        "it, which quotes the value and refuses one it cannot quote"
                    ),
                )


def _is_quote_call(part: object) -> TypeGuard[Expression]:
    if not isinstance(part, Expression):
        return False
    node = part.parsed.parsed
    return bool(node.get("type") == "function_expression" and node.get("value") == QUOTE_FUNCTION)


def _plain_inputs(expression: Expression, props: dict[str, Any]) -> bool:
    """True if the expression only reads inputs whose every value is harmless as text."""
    refs = expression.references()
    return bool(refs) and all(
        len(ref) == 2 and ref[0] == "inputs" and _plain_words(props.get(ref[1])) for ref in refs
    )


def _plain_words(schema: Any) -> bool:
    """True if every value `schema` allows is a number, a boolean or a listed word that
    holds no quote or backslash."""
    if not isinstance(schema, dict):
        return False
    listed = schema.get("enum", [schema["const"]] if "const" in schema else None)
    if isinstance(listed, list):
        return all(not isinstance(v, str) or not any(c in v for c in "'\\") for v in listed)
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    return all(kind in ("integer", "number", "boolean") for kind in kinds)
