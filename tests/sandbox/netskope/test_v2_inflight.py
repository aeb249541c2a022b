"""A data-export request is in flight until its page is sent: a second consumer of the
same index and type meanwhile gets 409, with no fault holding the first one up."""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from soarpack.sandbox import SandboxState, create_netskope_app, start_server
from soarpack.sandbox.netskope.dataexport import BUSY_MESSAGE
from soarpack.sandbox.netskope.events import record_position
from soarpack.sandbox.shared.server import RunningServer
from tests.sandbox.sandbox_helpers import NOW, TOKEN, V2_HEADERS, V2_TOKEN, export, page, v2_error

# A full-size page: ~12.8 MB uncompressed, more than the loopback socket buffers hold,
# so the tenant is still writing it while its reader has not read it.
PAGE_SIZE = 10_000


@pytest.fixture
def full_size() -> SandboxState:
    return SandboxState(
        token=TOKEN,
        now=NOW,
        v2_token=V2_TOKEN,
        client_count=20,
        alert_count=20,
        events_per_type=25_000,
        page_size=PAGE_SIZE,
        v2_rate_limit=False,
    )


@pytest.fixture
def server(full_size: SandboxState) -> Iterator[RunningServer]:
    with start_server(create_netskope_app(full_size)) as running:
        yield running


def slow_reader(server: RunningServer, index: str) -> http.client.HTTPConnection:
    """A consumer that sends `next` for events/page and reads nothing back yet.

    A small receive buffer and an identity body keep the page from fitting in the
    socket buffers, so its answer stays in flight until the body is read.
    """
    sock = socket.create_connection((server.host, server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    connection = http.client.HTTPConnection(server.host, server.port)
    connection.sock = sock
    connection.request(
        "GET",
        f"/api/v2/events/dataexport/events/page?index={index}&operation=next",
        headers={**V2_HEADERS, "Accept-Encoding": "identity"},
    )
    return connection


def test_a_second_consumer_is_409_while_the_first_is_still_receiving_its_page(
    server: RunningServer, full_size: SandboxState
) -> None:
    first = slow_reader(server, "demo")
    answer = first.getresponse()  # the status line and headers only
    assert answer.status == 200
    with httpx.Client(base_url=server.base_url, headers=V2_HEADERS) as second:
        busy = export(second)
        assert v2_error(busy, 409) == BUSY_MESSAGE
        # Another index, or another type on this one, is not in flight.
        assert len(page(export(second, index="other"))[0]) == PAGE_SIZE
        assert len(page(export(second, "events/network"))[0]) == PAGE_SIZE

        body = json.loads(answer.read())
        first.close()
        assert [record_position(r["_id"]) for r in body["result"]] == list(range(PAGE_SIZE))
        # The first page is whole, and the second consumer's retry continues after it:
        # the stream was not split between them.
        assert page(export(second))[0] == list(range(PAGE_SIZE, 2 * PAGE_SIZE))
    statuses = [
        (e["query"]["index"], e["path"].rsplit("/", 1)[1], e["status"])
        for e in full_size.logged_requests()
    ]
    assert statuses == [
        ("demo", "page", 200),
        ("demo", "page", 409),
        ("other", "page", 200),
        ("demo", "network", 200),
        ("demo", "page", 200),
    ]


def test_a_consumer_that_goes_away_mid_page_frees_the_index(
    server: RunningServer, full_size: SandboxState
) -> None:
    first = slow_reader(server, "demo")
    assert first.getresponse().status == 200
    first.close()  # gone without reading its page
    with httpx.Client(base_url=server.base_url, headers=V2_HEADERS) as second:
        # The tenant notices when its write fails; until then a retry may see 409.
        for _ in range(200):
            retried = export(second, operation="resend")
            if retried.status_code != 409:
                break
        # The page it was sending counts as served: resend repeats it.
        assert page(retried)[0] == list(range(PAGE_SIZE))
