"""The client builds each request itself (faster than httpx.Client.build_request): both
ways must give the same request, and no cookie travels between invocations."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from soarpack.config import ConnectionSettings
from soarpack.http.client import ConnectionClient
from soarpack.manifest import AuthSpec, ConnectionSpec
from tests.conftest import transport_for

SPEC = ConnectionSpec(
    name="vendor",
    title="Vendor",
    description="test vendor",
    settings={},
    auth=AuthSpec(place="header", name="Authorization", setting="token", prefix="Bearer "),
    test_action="vendor.x.test",
)


def client_for(base_url: str, router: respx.Router | None = None) -> ConnectionClient:
    settings = ConnectionSettings("vendor", {"base_url": base_url}, {"token": "t0k3n-abcdef"})
    transport = transport_for(router) if router is not None else None
    return ConnectionClient(SPEC, settings, transport=transport)


def snapshot(request: httpx.Request) -> dict[str, Any]:
    return {
        "method": request.method,
        "url": str(request.url),
        "headers": request.headers.multi_items(),
        "content": request.read(),
        "extensions": request.extensions,
    }


@pytest.mark.parametrize(
    "base_url", ["https://vendor.example", "https://vendor.example/api/", "https://v.example/x"]
)
@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        pytest.param("GET", "/api/v1/users/u1", {}, id="plain-get"),
        pytest.param("GET", "api/v1/users/u1", {}, id="no-leading-slash"),
        pytest.param("GET", "/api/v1/users/a%2Fb%20c", {}, id="encoded-segment"),
        pytest.param("GET", "/api/v1/naïve path", {}, id="unencoded-characters"),
        pytest.param(
            "POST",
            "/api/v1/alerts",
            {
                "params": {"timeperiod": 86400, "limit": 10, "query": "a eq 'b c'&x=1"},
                "json_body": {"token": "t", "name": "Zoë", "ids": [1, 2], "on": True},
            },
            id="query-and-json",
        ),
        pytest.param("GET", "/x", {"params": {"ids": ["a", "b"], "flag": "true"}}, id="list"),
        pytest.param("PATCH", "/x", {"json_body": {}}, id="empty-json-body"),
        pytest.param(
            "GET",
            "/report.csv",
            {"headers": {"Accept": "text/csv", "X-Account": "acme"}},
            id="headers-override-client-defaults",
        ),
        pytest.param(
            "DELETE",
            "/x",
            {"timeout": httpx.Timeout(connect=1.5, read=2.5, write=2.5, pool=1.5)},
            id="shortened-timeout",
        ),
    ],
)
def test_same_request_as_httpx_build_request(
    base_url: str, method: str, path: str, kwargs: dict[str, Any]
) -> None:
    client = client_for(base_url)
    try:
        ours = client._build_request(method, path, **kwargs)
        theirs = client._http.build_request(
            method,
            path,
            params=kwargs.get("params"),
            json=kwargs.get("json_body"),
            headers=kwargs.get("headers"),
            timeout=kwargs.get("timeout", client._timeout),
        )
        assert snapshot(ours) == snapshot(theirs)
    finally:
        client.close()


def test_an_absolute_url_as_path_stays_on_the_configured_host() -> None:
    client = client_for("https://vendor.example")
    try:
        built = client._build_request("GET", "https://elsewhere.example/steal")
        assert built.url.host == "vendor.example"
    finally:
        client.close()


def test_a_cookie_set_by_one_answer_is_not_sent_with_the_next_request() -> None:
    router = respx.Router(assert_all_called=True)
    route = router.get("https://vendor.example/x").mock(
        return_value=httpx.Response(200, json={}, headers={"Set-Cookie": "session=abc; Path=/"})
    )
    client = client_for("https://vendor.example", router)
    try:
        for _ in range(2):
            client.request("GET", "/x", side_effect="read", calls=[])
        assert route.call_count == 2
        assert "cookie" not in route.calls[1].request.headers
        assert not client._http.cookies
    finally:
        client.close()
