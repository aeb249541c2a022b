"""gzip: v1 and v2 answers are compressed when the request asks, identity otherwise,
and the request log notes which encoding each answer went out in."""

from __future__ import annotations

import gzip
from collections.abc import Iterator

import httpx
import pytest

from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app, start_server
from soarpack.sandbox.shared.compression import GZIP_MINIMUM_SIZE
from tests.conftest import CANARY, EngineFactory
from tests.sandbox.sandbox_helpers import BASE_URL, TOKEN, V2_HEADERS


def v1_request(encoding: str) -> httpx.Request:
    return httpx.Request(
        "POST",
        BASE_URL + "/api/v1/alerts",
        json={"token": TOKEN, "timeperiod": 2592000, "limit": 50},
        headers={"Accept-Encoding": encoding},
    )


def v2_request(encoding: str, index: str) -> httpx.Request:
    return httpx.Request(
        "GET",
        BASE_URL + "/api/v2/events/dataexport/events/page",
        params={"index": index, "operation": "head"},
        headers={**V2_HEADERS, "Accept-Encoding": encoding},
    )


def raw_answer(http: httpx.Client, request: httpx.Request) -> tuple[httpx.Response, bytes]:
    """The response and its body exactly as sent, before httpx decodes any encoding."""
    response = http.send(request, stream=True)
    try:
        return response, b"".join(response.iter_raw())
    finally:
        response.close()


@pytest.fixture
def raw(v2_state: SandboxState) -> Iterator[httpx.Client]:
    transport = InProcessTransport(create_netskope_app(v2_state))
    # No default Accept-Encoding of its own: each request says what it accepts.
    with httpx.Client(transport=transport, headers={"Accept-Encoding": "identity"}) as http:
        yield http


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_gzip_when_asked_and_identity_otherwise(
    raw: httpx.Client, v2_state: SandboxState, version: str
) -> None:
    def request(encoding: str) -> httpx.Request:
        # Both v2 requests use `head` on their own index, so they serve the same page.
        return v1_request(encoding) if version == "v1" else v2_request(encoding, encoding)

    plain, plain_body = raw_answer(raw, request("identity"))
    zipped, zipped_body = raw_answer(raw, request("gzip, deflate"))

    assert plain.status_code == zipped.status_code == 200
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["vary"]
    assert len(plain_body) > GZIP_MINIMUM_SIZE
    # The same answer either way, smaller on the wire, each length telling the truth.
    assert gzip.decompress(zipped_body) == plain_body
    assert len(zipped_body) < len(plain_body)
    assert int(zipped.headers["content-length"]) == len(zipped_body)
    assert int(plain.headers["content-length"]) == len(plain_body)
    # The log records both requests as before, plus how each was answered.
    log = v2_state.logged_requests()
    assert [(e["status"], e["encoding"]) for e in log] == [(200, "identity"), (200, "gzip")]
    assert {e["path"] for e in log} == {request("gzip").url.path}


def test_small_answers_stay_identity_even_when_gzip_is_asked(
    raw: httpx.Client, v2_state: SandboxState
) -> None:
    # A refusal is a few dozen bytes: compressing it would only make it bigger.
    request = v2_request("gzip", "demo")
    request.headers["Netskope-Api-Token"] = "wrong"
    response, body = raw_answer(raw, request)
    assert response.status_code == 403
    assert "content-encoding" not in response.headers
    assert b"Invalid token" in body
    assert v2_state.logged_requests()[-1]["encoding"] == "identity"


def test_httpx_asks_for_gzip_and_decodes_it_over_loopback(v2_state: SandboxState) -> None:
    # Over a real socket, as soarpack and netskopesdk talk to it: httpx's own
    # Accept-Encoding gets a gzipped page back, which it decodes transparently.
    with (
        start_server(create_netskope_app(v2_state)) as server,
        httpx.Client(base_url=server.base_url, headers=V2_HEADERS) as http,
    ):
        response = http.get(
            "/api/v2/events/dataexport/alerts/dlp", params={"index": "i", "operation": "next"}
        )
    assert response.status_code == 200
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["result"]) == 10
    entry = v2_state.logged_requests()[-1]
    assert "gzip" in response.request.headers["accept-encoding"]
    assert (entry["status"], entry["encoding"]) == (200, "gzip")


def test_soarpack_asks_for_gzip_and_reads_the_gzipped_page(make_engine: EngineFactory) -> None:
    state = SandboxState(token=CANARY, events_per_type=50, page_size=20, v2_rate_limit=False)
    transport = InProcessTransport(create_netskope_app(state))
    engine = make_engine(transport, "netskope_v2")
    result = engine.invoke("netskope.dataexport.fetch_page", {"event_type": "page", "index": "s"})
    transport.close()
    assert result.data["count"] == 20
    assert [r["_id"] for r in result.data["records"]] == [
        state.streams["events/page"].record(k)["_id"] for k in range(20)
    ]
    assert [(e["status"], e["encoding"]) for e in state.logged_requests()] == [(200, "gzip")]
