"""`${{ }}` expressions: JMESPath over parsed data, types kept, errors in plain words."""

from __future__ import annotations

from typing import Any

import pytest

from soarpack import errors
from soarpack.playbook.expressions import compile_expression, compile_value, resolve, truthy

SCOPE = {
    "inputs": {"n": 3, "user": "ann", "ids": ["a", "b"], "flag": False},
    "steps": {"get": {"outputs": {"alert": {"id": "x1", "title": "${{ inputs.n }}"}}}},
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("${{ inputs.n }}", 3, id="int-kept"),
        pytest.param("${{ inputs.ids }}", ["a", "b"], id="list-kept"),
        pytest.param("${{ inputs.flag }}", False, id="bool-kept"),
        pytest.param("${{ inputs.missing }}", None, id="missing-is-null"),
        pytest.param("  ${{ inputs.n }}  ", "  3  ", id="padding-makes-text"),
        pytest.param(
            "n=${{ inputs.n }} ids=${{ inputs.ids }}", 'n=3 ids=["a","b"]', id="interpolated"
        ),
        pytest.param(
            "${{ steps.get.outputs.alert.title }}", "${{ inputs.n }}", id="data-not-re-read"
        ),
        pytest.param(
            "{{ inputs.n }} <% $.n %>", "{{ inputs.n }} <% $.n %>", id="other-syntaxes-literal"
        ),
        pytest.param({"a": ["${{ inputs.user }}", 1]}, {"a": ["ann", 1]}, id="nested"),
        pytest.param("${{ length(inputs.ids) }}", 2, id="functions"),
        pytest.param("${{ inputs.user == 'ann' }}", True, id="raw-string-literal"),
    ],
)
def test_resolution(value: Any, expected: Any) -> None:
    assert resolve(compile_value(value), SCOPE) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("${{ inputs. }}", "syntax error at position", id="syntax"),
        pytest.param("${{ }}", "the expression is empty", id="empty"),
        pytest.param("${{ inputs.n", "is not closed", id="unclosed"),
        pytest.param("${{ nope(inputs.n) }}", "unknown function", id="unknown-function"),
    ],
)
def test_compile_errors_are_plain_words(text: str, reason: str) -> None:
    with pytest.raises(errors.ExpressionError) as caught:
        resolve(compile_value(text), SCOPE)
    assert reason in caught.value.reason
    assert "\n" not in str(caught.value) and "^" not in str(caught.value)


def test_runtime_type_errors_name_the_function_and_types() -> None:
    with pytest.raises(errors.ExpressionError) as caught:
        resolve(compile_value("${{ length(inputs.n) }}"), SCOPE)
    located = caught.value.located(playbook="pb", step="s1", field="with.x")
    assert "playbook pb step s1 field with.x" in str(located)
    assert "function length() got number" in str(located)


def test_references_are_root_paths_only() -> None:
    expr = compile_expression("(steps.a.outputs.ids[?@ == inputs.x] | length(@)) && run.id")
    assert expr.references() == [("run", "id"), ("steps", "a", "outputs", "ids")]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, False), (False, False), ("", False), ([], False), ({}, False), (0, True), ("x", True)],
)
def test_truth_follows_jmespath(value: Any, expected: bool) -> None:
    assert truthy(value) is expected
