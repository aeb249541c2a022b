"""Every action's generated example in operations.json answers 2xx in its documented shape."""

from __future__ import annotations

from typing import Any

import pytest

from soarpack.sandbox.lacework_edge.auth import auth_headers
from soarpack.sandbox.lacework_edge.spec import Operation, load_operations
from tests.sandbox.lacework_edge.helpers import API_KEY, Edge, edge, ok

__all__ = ["edge"]

OPERATIONS = load_operations()


def _request(op: Operation, example: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The example as a path, query parameters and JSON body, the way the action places them."""
    path, query, body = op.path, {}, {}
    for key, value in example.items():
        if key in op.path_params:
            path = path.replace("{" + key + "}", str(value))
        if key in op.query:
            query[key] = value
        if key in (op.body or ()):
            body[key] = value
    return path, query, body


def test_there_are_93_operations() -> None:
    assert len(OPERATIONS) == 93


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_generated_example_answers_2xx(edge: Edge, name: str) -> None:
    op = OPERATIONS[name]
    assert op.examples, name
    path, query, body = _request(op, op.examples[0])
    credential = API_KEY if op.short == "auth.token_login" else None
    response = edge.raw.request(
        op.method,
        path,
        params=query,
        json=body if op.body is not None else None,
        headers=auth_headers(edge.tenant, credential),
    )
    assert 200 <= response.status_code < 300, response.text
    result = ok(response, op.short)
    if not op.documents_success_body:
        assert result == {}


def test_example_requests_are_logged_with_their_action(edge: Edge) -> None:
    op = OPERATIONS["lacework_edge.users.get"]
    path, _, _ = _request(op, op.examples[0])
    assert edge.http.get(path).status_code == 200
    [entry] = edge.state.logged_requests()
    assert (entry["action"], entry["path"], entry["status"]) == (op.name, path, 200)
