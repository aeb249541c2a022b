"""The strict JSON decoder's bounds, exactly: where depth starts to count, what is not a
bracket, and that hostile sizes are answered without recursion."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from soarpack import jsondata
from soarpack.errors import InputError


def rules(text: str) -> list[tuple[str, str]]:
    _, found = jsondata.loads(text)
    return [(p.pointer, p.rule) for p in found]


def test_64_levels_pass_and_65_are_refused_at_the_65th() -> None:
    assert rules("[" * 64 + "]" * 64) == []
    [(pointer, rule)] = rules('{"a": ' + "[" * 64 + "]" * 64 + "}")
    assert rule == "depth" and pointer == "/a" + "/0" * 63


def test_brackets_inside_strings_do_not_count() -> None:
    text = json.dumps({"q": "[" * 5000 + "{" * 5000, "r": ['\\"]]]' * 100]})
    assert rules(text) == []


def test_mixed_objects_and_arrays_count_alike() -> None:
    text = '{"a": ' + '[{"b": ' * 40 + "1" + "}]" * 40 + "}"
    [(pointer, rule)] = rules(text)
    assert rule == "depth" and pointer.startswith("/a/0/b/0/b")


def test_every_too_deep_branch_is_named() -> None:
    deep = "[" * 70 + "]" * 70
    found = rules(f'{{"x": {deep}, "y": [1, {deep}], "z": 1}}')
    assert [rule for _, rule in found] == ["depth", "depth"]
    assert {pointer.split("/")[1] for pointer, _ in found} == {"x", "y"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('{"a": "\\ud800"}', [("/a", "encoding")], id="lone high"),
        pytest.param('{"a": "\\udc00x"}', [("/a", "encoding")], id="lone low"),
        pytest.param('{"a": "\\ud83d\\ude00"}', [], id="a pair is one character"),
        pytest.param('{"a": "\\\\ud800"}', [], id="an escaped backslash, not an escape"),
        pytest.param(
            '{"a": 1, "b": {"c": 1, "c": 2}, "a": 3}',
            [("/a", "duplicate"), ("/b/c", "duplicate")],
            id="dups",
        ),
    ],
)
def test_surrogates_and_repeated_keys(text: str, expected: list[tuple[str, str]]) -> None:
    assert sorted(rules(text)) == expected


def test_hostile_sizes_end_in_a_bounded_number_of_problems() -> None:
    many_dups = "{" + ",".join(f'"a{i}": 1, "a{i}": 2' for i in range(20_000)) + "}"
    many_bad = "[" + ",".join('"\\ud800"' for _ in range(20_000)) + "]"
    for text in (many_dups, many_bad):
        assert len(rules(text)) == jsondata.MAX_PROBLEMS


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param('{"a": NaN}', "NaN is not a JSON number", id="NaN"),
        pytest.param('{"a": -Infinity}', "-Infinity is not a JSON number", id="Infinity"),
        pytest.param("[" * 100_000, "is not valid JSON", id="never closed"),
        pytest.param("[1, 2]", "must be a JSON object, not an array", id="array"),
    ],
)
def test_decode_object_refusals(text: str, said: str) -> None:
    with pytest.raises(InputError) as caught:
        jsondata.decode_object(text, "an.action", "--input")
    assert said in str(caught.value)


def test_python_data_is_checked_without_recursion() -> None:
    value: Any = "leaf"
    for _ in range(100_000):
        value = {"k": value}
    [problem] = jsondata.problems(value)
    assert problem.rule == "depth" and len(problem.pointer) <= 200


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
def test_data_in_memory_holding_a_number_json_cannot_carry_is_refused(number: float) -> None:
    found = jsondata.problems({"filters": [{"score": number}], "ok": 1.5})
    assert [(p.pointer, p.rule) for p in found] == [("/filters/0/score", "number")]
