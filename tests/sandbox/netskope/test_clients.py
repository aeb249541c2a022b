"""/api/v1/clients: parameters from anywhere, query filtering, paging, bad input."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from soarpack.sandbox import SandboxState
from tests.sandbox.sandbox_helpers import TOKEN, call, data, error


def test_default_page_is_the_first_hundred_by_id(client: httpx.Client, state: SandboxState) -> None:
    records = data(call(client, "clients"))
    assert [r["_id"] for r in records] == sorted(c["_id"] for c in state.clients)[:100]


def test_limit_and_skip_page_through_everything(client: httpx.Client, state: SandboxState) -> None:
    seen: list[str] = []
    skip = 0
    while page := data(call(client, "clients", limit=70, skip=skip)):
        assert len(page) <= 70
        seen += [record["_id"] for record in page]
        skip += 70
    assert seen == [c["_id"] for c in state.clients]
    assert len(set(seen)) == 300


def test_query_filters_before_paging(client: httpx.Client, state: SandboxState) -> None:
    unmanaged = [
        c["_id"]
        for c in state.clients
        if any(u["device_classification_status"] == 1 for u in c["users"])
    ]
    query = "users.device_classification_status eq 1"
    first = data(call(client, "clients", query=query, limit=10))
    rest = data(call(client, "clients", query=query, skip=10, limit=4999))
    assert [r["_id"] for r in first + rest] == unmanaged


def test_query_by_hostname_like_the_vendor_example(
    client: httpx.Client, state: SandboxState
) -> None:
    a, b = state.clients[3]["host_info"]["hostname"], state.clients[42]["host_info"]["hostname"]
    query = f"host_info.hostname eq '{a}' or host_info.hostname eq '{b}'"
    records = data(call(client, "clients", query=query))
    assert {r["host_info"]["hostname"] for r in records} == {a, b}


@pytest.mark.parametrize(
    ("how", "kwargs"),
    [
        pytest.param("json", {"json": {"token": TOKEN, "limit": 3}}, id="json-body"),
        pytest.param("form", {"data": {"token": TOKEN, "limit": "3"}}, id="form-body"),
        pytest.param("url", {"params": {"token": TOKEN, "limit": "3"}}, id="query-string"),
        pytest.param(
            "mixed", {"params": {"limit": "3"}, "json": {"token": TOKEN}}, id="url-and-body"
        ),
    ],
)
def test_parameters_come_from_url_json_or_form(
    client: httpx.Client, how: str, kwargs: dict[str, Any]
) -> None:
    assert len(data(client.post("/api/v1/clients", **kwargs))) == 3


def test_get_is_accepted_like_post(client: httpx.Client) -> None:
    response = client.get("/api/v1/clients", params={"token": TOKEN, "limit": "2"})
    assert len(data(response)) == 2


def test_body_wins_over_the_query_string(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/clients",
        params={"limit": "1", "token": "wrong"},
        json={"token": TOKEN, "limit": 4},
    )
    assert len(data(response)) == 4


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        pytest.param({"limit": 0}, "limit must be between 1 and 4999", id="limit-zero"),
        pytest.param({"limit": 5000}, "limit must be between 1 and 4999", id="limit-too-big"),
        pytest.param({"limit": "ten"}, "limit must be an integer", id="limit-not-int"),
        pytest.param({"skip": -1}, "skip must be >= 0", id="skip-negative"),
        pytest.param({"skip": "1.5"}, "skip must be an integer", id="skip-not-int"),
        pytest.param({"skip": True}, "skip must be an integer", id="skip-bool"),
        pytest.param({"query": "hostname eq"}, "Invalid query: expected a value", id="query"),
    ],
)
def test_bad_parameters_are_errors_in_a_200(
    client: httpx.Client, params: dict[str, Any], fragment: str
) -> None:
    assert fragment in error(call(client, "clients", **params))


def test_unreadable_body_is_an_error_in_a_200(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/clients", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert "not valid JSON" in error(response)
