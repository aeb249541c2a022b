"""The query subset: parsing, evaluation over nested records, and error positions."""

from __future__ import annotations

from typing import Any

import pytest

from soarpack.sandbox.netskope.query import QueryError, compile_query

HOST_A: dict[str, Any] = {
    "_id": "a",
    "host_info": {"hostname": "LT-AAAAAA", "os": 0, "os_version": "Windows 11 Pro"},
    "last_event": {"status": 1, "event": 1},
    "users": [
        {"username": "alice.adams@example.com", "device_classification_status": 0},
        {"username": "bob.baker@example.com", "device_classification_status": 1},
    ],
}
HOST_B: dict[str, Any] = {
    "_id": "b",
    "host_info": {"hostname": "LT-BBBBBB", "os": 1, "os_version": "13.5.2"},
    "last_event": {"status": 0, "event": 6},
    "users": [{"username": "carol.chen@example.com", "device_classification_status": 0}],
}
HOST_C: dict[str, Any] = {
    "_id": "c",
    "host_info": {"hostname": "LT-CCCCCC", "os": 4},
    "last_event": {"status": 2, "event": 10},
    "users": [],
}
RECORDS = {"a": HOST_A, "b": HOST_B, "c": HOST_C}


def matching(query: str | None) -> set[str]:
    predicate = compile_query(query)
    return {key for key, record in RECORDS.items() if predicate(record)}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(None, {"a", "b", "c"}, id="none-matches-all"),
        pytest.param("  ", {"a", "b", "c"}, id="blank-matches-all"),
        pytest.param("host_info.hostname eq 'LT-AAAAAA'", {"a"}, id="eq"),
        pytest.param('host_info.hostname eq "LT-BBBBBB"', {"b"}, id="eq-double-quotes"),
        pytest.param("host_info.hostname ne 'LT-AAAAAA'", {"b", "c"}, id="ne"),
        pytest.param("host_info.hostname in ['LT-AAAAAA', 'LT-CCCCCC']", {"a", "c"}, id="in"),
        pytest.param("host_info.os_version like 'windows'", {"a"}, id="like-case-insensitive"),
        pytest.param("host_info.os_version like '13.5'", {"b"}, id="like-substring"),
        pytest.param("last_event.status eq 0", {"b"}, id="numeric-eq"),
        pytest.param("last_event.status eq '0'", {"b"}, id="numeric-quoted"),
        pytest.param("last_event.status ne 1", {"b", "c"}, id="numeric-ne"),
        pytest.param("last_event.event in [6, 10]", {"b", "c"}, id="numeric-in"),
        pytest.param("last_event.event gt 5", {"b", "c"}, id="numeric-gt"),
        pytest.param("last_event.event le 1", {"a"}, id="numeric-le"),
        pytest.param("host_info.os eq 'Windows'", set(), id="numeric-field-text-value"),
        pytest.param("users.username eq 'bob.baker@example.com'", {"a"}, id="list-traversal"),
        pytest.param("users.device_classification_status eq 1", {"a"}, id="list-numeric"),
        pytest.param("users.username ne 'bob.baker@example.com'", {"b", "c"}, id="list-ne-is-none"),
        pytest.param("users.username like 'chen'", {"b"}, id="list-like"),
        pytest.param("no.such.field eq 'x'", set(), id="missing-field-eq"),
        pytest.param("no.such.field ne 'x'", {"a", "b", "c"}, id="missing-field-ne"),
        pytest.param("last_event.status eq 1 and users.username like 'alice'", {"a"}, id="and"),
        pytest.param("last_event.status eq 0 or host_info.os eq 4", {"b", "c"}, id="or"),
        pytest.param(
            "host_info.os eq 0 or host_info.os eq 1 and last_event.status eq 2",
            {"a"},
            id="and-binds-tighter",
        ),
        pytest.param(
            "(host_info.os eq 0 or host_info.os eq 1) and last_event.status eq 0",
            {"b"},
            id="parens",
        ),
        pytest.param("((host_info.os eq 4))", {"c"}, id="nested-parens"),
        pytest.param(
            "host_info.hostname EQ 'LT-AAAAAA' OR _id eq c", {"a", "c"}, id="keyword-case"
        ),
        pytest.param("users.username eq carol.chen@example.com", {"b"}, id="bare-word-value"),
        pytest.param("host_info.os_version", {"a", "b"}, id="bare-field-is-presence"),
    ],
)
def test_query_matches(query: str | None, expected: set[str]) -> None:
    assert matching(query) == expected


def test_escaped_quote_inside_a_string() -> None:
    record = {"name": "O'Brien"}
    assert compile_query(r"name eq 'O\'Brien'")(record)


@pytest.mark.parametrize(
    ("query", "position", "fragment"),
    [
        pytest.param("host_info.hostname eq", 21, "expected a value", id="missing-value"),
        pytest.param("host_info.hostname 'x'", 19, "expected an operator", id="missing-op"),
        pytest.param("a eq 'x' and", 12, "expected a field name", id="dangling-and"),
        pytest.param("(a eq 'x'", 9, "expected ')'", id="unclosed-paren"),
        pytest.param("a eq 'x')", 8, "expected 'and', 'or' or end", id="stray-paren"),
        pytest.param("a in 'x'", 5, "expected '['", id="in-without-list"),
        pytest.param("a in ['x' 'y']", 10, "expected ']'", id="list-missing-comma"),
        pytest.param("a eq 'open", 5, "unterminated string", id="unterminated"),
        pytest.param("a eq 'x' ; drop", 9, "unexpected character", id="bad-char"),
        pytest.param("a eq 'x' b eq 'y'", 9, "expected 'and', 'or' or end", id="missing-join"),
    ],
)
def test_syntax_errors_name_the_position(query: str, position: int, fragment: str) -> None:
    with pytest.raises(QueryError) as caught:
        compile_query(query)
    assert caught.value.position == position
    assert fragment in str(caught.value)
    assert f"at position {position}" in str(caught.value)
