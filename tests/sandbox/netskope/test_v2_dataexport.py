"""The v2 data-export iterator: operations, cursors, pages, wait_time and bad requests."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app
from soarpack.sandbox.netskope.events import STREAM_KINDS, WINDOW_SECONDS, record_kind
from soarpack.sandbox.netskope.iterators import wait_time
from tests.sandbox.sandbox_helpers import (
    BASE_URL,
    NOW,
    TOKEN,
    V2_HEADERS,
    V2_SMALL,
    export,
    page,
    v2_error,
)


def positions(response: httpx.Response) -> list[int]:
    return page(response)[0]


def drain(http: httpx.Client, **kwargs: Any) -> list[tuple[list[int], int]]:
    """`next` until an empty page; every page (the empty one included) with its wait_time."""
    pages = []
    for _ in range(20):
        pages.append(page(export(http, operation="next", **kwargs)))
        if not pages[-1][0]:
            return pages
    raise AssertionError("the iterator never ran dry")


def test_next_pages_through_the_stream_from_the_oldest_record(v2: httpx.Client) -> None:
    pages = drain(v2)
    assert [len(records) for records, _ in pages] == [10, 10, 5, 0]
    assert [wait for _, wait in pages] == [0, 0, 15, 30]
    # Every record exactly once, in order: no gap and no repeat across pages.
    assert [p for records, _ in pages for p in records] == list(range(25))


def test_resend_repeats_the_last_page_without_moving(v2: httpx.Client) -> None:
    export(v2)
    second = positions(export(v2))
    assert positions(export(v2, operation="resend")) == second == list(range(10, 20))
    assert positions(export(v2, operation="resend")) == second
    assert positions(export(v2)) == list(range(20, 25))


def test_resend_on_a_fresh_index_is_an_empty_page(v2: httpx.Client) -> None:
    assert page(export(v2, operation="resend")) == ([], 30)
    assert positions(export(v2)) == list(range(10))


def test_head_starts_over_from_the_oldest_record(v2: httpx.Client) -> None:
    export(v2)
    export(v2)
    assert positions(export(v2, operation="head")) == list(range(10))
    assert positions(export(v2)) == list(range(10, 20))


def test_tail_skips_to_the_end_and_next_sees_only_new_records(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    export(v2)
    assert page(export(v2, operation="tail")) == ([], 30)
    assert page(export(v2)) == ([], 30)
    v2_state.append_events("events/page", 3)
    response = export(v2)
    assert positions(response) == [25, 26, 27]
    assert all(r["timestamp"] >= NOW for r in response.json()["result"])
    assert page(export(v2)) == ([], 30)
    # Another index still starts at the oldest record and now reaches the new ones.
    assert [p for records, _ in drain(v2, index="fresh") for p in records] == list(range(28))


def test_appended_records_continue_ids_and_timestamps(v2_state: SandboxState) -> None:
    stream = v2_state.streams["alerts/dlp"]
    v2_state.append_events("alerts/dlp", 2)
    records = [stream.record(k) for k in range(23, 27)]
    stamps = [r["timestamp"] for r in records]
    assert stamps == sorted(stamps) and stamps[2:] == [NOW, NOW + 1]
    assert [record_kind(r["_id"]) for r in records] == ["alerts/dlp"] * 4


def first_at_or_after(state: SandboxState, epoch: int) -> int:
    stream = state.streams["events/page"]
    return next((k for k in range(stream.count) if stream.timestamp(k) >= epoch), stream.count)


@pytest.mark.parametrize(
    ("epoch", "expected_first"),
    [
        pytest.param(0, 0, id="before-everything"),
        pytest.param(NOW - WINDOW_SECONDS, 0, id="oldest-record-exactly"),
        pytest.param(NOW - WINDOW_SECONDS + 1, 1, id="just-after-the-oldest"),
        pytest.param(NOW - WINDOW_SECONDS // 2, 13, id="mid-window"),
        pytest.param(NOW, 25, id="now-nothing-yet"),
    ],
)
def test_epoch_serves_from_the_first_record_at_or_after_it_one_hour_at_a_time(
    v2: httpx.Client, v2_state: SandboxState, epoch: int, expected_first: int
) -> None:
    # The small tenant's records are ~2.9 hours apart: each hour batch holds one.
    assert first_at_or_after(v2_state, epoch) == expected_first  # the table is right
    response = export(v2, operation=str(epoch))
    served = positions(response)
    assert served == list(range(expected_first, min(expected_first + 1, 25)))
    assert all(r["timestamp"] >= epoch for r in response.json()["result"])
    # The epoch moved the cursor: next serves the next hour that holds a record.
    after = served[-1] + 1 if served else expected_first
    assert positions(export(v2)) == list(range(after, min(after + 1, 25)))


@pytest.fixture
def hourly() -> Iterator[tuple[SandboxState, httpx.Client]]:
    """A tenant with ten records an hour (one every 360 s) and pages of four."""
    state = SandboxState(token=TOKEN, now=NOW, **{**V2_SMALL, "events_per_type": 720})
    state.page_size = 4
    transport = InProcessTransport(create_netskope_app(state))
    with httpx.Client(transport=transport, base_url=BASE_URL, headers=V2_HEADERS) as http:
        yield state, http


def test_an_epoch_start_pages_through_one_hour_batch_then_the_next(
    hourly: tuple[SandboxState, httpx.Client],
) -> None:
    state, http = hourly
    stream = state.streams["events/page"]
    epoch = stream.timestamp(0) + 30  # record 0 is before it, record 1 the first after
    first = export(http, operation=str(epoch))
    pages = [positions(first)] + [positions(export(http)) for _ in range(4)]
    # Hour one, [epoch, epoch + 3600), holds records 1-10: a page of four at a time,
    # then a short page where the hour ends; hour two starts at record 11.
    assert pages == [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10], [11, 12, 13, 14], [15, 16, 17, 18]]
    hours = [{(stream.timestamp(k) - epoch) // 3600 for k in page} for page in pages]
    assert hours == [{0}, {0}, {0}, {1}, {1}]
    assert page(first)[1] == 0  # a full page: no wait
    # resend repeats the last batch page; head ends the batching.
    assert positions(export(http, operation="resend")) == [15, 16, 17, 18]
    assert positions(export(http, operation="head")) == [0, 1, 2, 3]
    assert positions(export(http)) == [4, 5, 6, 7]


def test_hour_batches_skip_empty_hours_and_wait_at_the_end(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    stream = v2_state.streams["events/page"]
    served = [positions(export(v2, operation=str(NOW - WINDOW_SECONDS)))]
    served += [positions(export(v2)) for _ in range(25)]
    # One record an hour batch, never an empty page between them, then empty.
    assert served == [[k] for k in range(25)] + [[]]
    # Records that arrive later come in the hour batch that holds them.
    v2_state.append_events("events/page", 3)
    assert positions(export(v2)) == [25, 26, 27]
    assert {stream.timestamp(k) for k in (25, 26, 27)} == {NOW, NOW + 1, NOW + 2}


def test_indexes_and_types_have_independent_cursors(v2: httpx.Client) -> None:
    export(v2, index="a")
    export(v2, index="a")
    assert positions(export(v2, index="b")) == list(range(10))
    assert positions(export(v2, "alerts/dlp", index="a")) == list(range(10))
    assert positions(export(v2, "events/alert", index="a")) == list(range(10))
    assert positions(export(v2, index="a")) == list(range(20, 25))
    assert positions(export(v2, index="b")) == list(range(10, 20))


@pytest.mark.parametrize(
    ("served", "expected"),
    [
        pytest.param(10, 0, id="full"),
        pytest.param(12, 0, id="more-than-full"),
        pytest.param(9, 3, id="nearly-full"),
        pytest.param(5, 15, id="half"),
        pytest.param(1, 27, id="one"),
        pytest.param(0, 30, id="empty"),
    ],
)
def test_wait_time_formula(served: int, expected: int) -> None:
    assert wait_time(served, page_size=10, idle_wait=30) == expected


def test_page_size_and_idle_wait_are_read_per_request(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    v2_state.page_size = 4
    v2_state.v2_idle_wait = 8
    assert page(export(v2)) == ([0, 1, 2, 3], 0)
    v2_state.page_size = 30
    assert page(export(v2)) == (list(range(4, 25)), 2)  # round(8 * (1 - 21/30))


def test_records_are_json_safe_and_some_carry_awkward_strings(v2: httpx.Client) -> None:
    response = export(v2, "events/application", operation="head")
    text = response.content.decode("utf-8")
    records = json.loads(text)["result"]
    values = [v for r in records for v in r.values() if isinstance(v, str)]
    assert any('"' in v for v in values)
    assert any("\\" in v for v in values)
    assert any("," in v for v in values)
    assert any(not v.isascii() for v in values)
    assert any(ord(ch) > 0xFFFF for v in values for ch in v)  # an astral-plane emoji


COMMON_FIELDS = {
    "_id", "timestamp", "_insertion_epoch_timestamp", "type", "user", "srcip", "dstip",
    "hostname", "app", "category", "url", "policy", "action", "access_method", "device",
    "os", "browser", "useragent",
}  # fmt: skip
ALERT_FIELDS = {"alert", "alert_type", "alert_name", "acked", "severity"}


@pytest.mark.parametrize("kind", STREAM_KINDS)
def test_every_type_serves_realistic_records(v2: httpx.Client, kind: str) -> None:
    records = export(v2, kind).json()["result"]
    assert len(records) == 10
    for record in records:
        expected = COMMON_FIELDS | (ALERT_FIELDS if kind.startswith("alerts/") else set())
        assert expected <= set(record), expected - set(record)
        assert re.fullmatch(r"[0-9a-f]{24}", record["_id"])
        assert record_kind(record["_id"]) == kind
        assert NOW - WINDOW_SECONDS <= record["timestamp"] < NOW
        assert record["_insertion_epoch_timestamp"] > record["timestamp"]
        assert re.fullmatch(r"[a-z]+\.[a-z]+\d*@example\.com", record["user"])
        assert record["url"].startswith("https://")
    stamps = [r["timestamp"] for r in records]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_users_and_hosts_come_from_the_tenants_clients(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    users = {u["username"] for c in v2_state.clients for u in c["users"]}
    hosts = {c["host_info"]["hostname"] for c in v2_state.clients}
    for record in export(v2, "alerts/malware").json()["result"]:
        assert record["user"] in users and record["hostname"] in hosts


def test_same_seed_same_bytes_other_seed_other_records() -> None:
    def body(seed: int) -> bytes:
        state = SandboxState(token=TOKEN, now=NOW, seed=seed, **V2_SMALL)
        with httpx.Client(
            transport=InProcessTransport(create_netskope_app(state)),
            base_url=BASE_URL,
            headers=V2_HEADERS,
        ) as http:
            return export(http, "alerts/policy").content

    assert body(7) == body(7)
    assert body(7) != body(8)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("events/bogus", id="unknown-event"),
        pytest.param("alerts/bogus", id="unknown-alert"),
        pytest.param("events/dlp", id="alert-type-as-event"),
        pytest.param("alerts/page", id="event-type-as-alert"),
        pytest.param("incidents/page", id="unknown-family"),
        pytest.param("events/Page", id="case-matters"),
    ],
)
def test_unknown_type_is_404(v2: httpx.Client, path: str) -> None:
    response = v2.get(f"/api/v2/events/dataexport/{path}?index=demo&operation=next")
    assert "type" in v2_error(response, 404)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        pytest.param({"operation": "next"}, "index is required", id="no-index"),
        pytest.param({"operation": "next", "index": ""}, "index is required", id="empty-index"),
        pytest.param({"index": "demo"}, "operation is required", id="no-operation"),
        pytest.param({"index": "demo", "operation": ""}, "required", id="empty-operation"),
        pytest.param({"index": "demo", "operation": "NEXT"}, "Invalid operation", id="case"),
        pytest.param({"index": "demo", "operation": "prev"}, "Invalid operation", id="unknown"),
        pytest.param({"index": "demo", "operation": "-5"}, "Invalid operation", id="negative"),
        pytest.param({"index": "demo", "operation": "1.5e9"}, "Invalid operation", id="float"),
        pytest.param({"index": "demo", "operation": "1" * 13}, "Invalid", id="too-long"),
        pytest.param({"index": "demo", "operation": "١٢٣"}, "Invalid operation", id="non-ascii"),
    ],
)
def test_bad_parameters_are_400_and_do_not_move_the_cursor(
    v2: httpx.Client, params: dict[str, str], fragment: str
) -> None:
    export(v2)
    response = v2.get("/api/v2/events/dataexport/events/page", params=params)
    assert fragment in v2_error(response, 400)
    assert positions(export(v2)) == list(range(10, 20))


def test_only_get_is_served(v2: httpx.Client) -> None:
    response = v2.post("/api/v2/events/dataexport/events/page?index=demo&operation=next")
    assert response.status_code == 405


@pytest.fixture
def full_size() -> SandboxState:
    # The vendor's sizes: 25,000 records a stream, 10,000 a page.
    return SandboxState(token=TOKEN, now=NOW, v2_token=V2_HEADERS["Netskope-Api-Token"])


def test_full_pages_of_ten_thousand_records(full_size: SandboxState) -> None:
    full_size.v2_rate_limit = False
    transport = InProcessTransport(create_netskope_app(full_size))
    with httpx.Client(transport=transport, base_url=BASE_URL, headers=V2_HEADERS) as http:
        pages = [export(http, "events/connection") for _ in range(3)]
    bodies = [p.json() for p in pages]
    assert [len(b["result"]) for b in bodies] == [10_000, 10_000, 5_000]
    assert [b["wait_time"] for b in bodies] == [0, 0, 15]
    ids = [r["_id"] for b in bodies for r in b["result"]]
    assert [int(i[8:], 16) for i in ids] == list(range(25_000))
    # About 1 KB a record, as the vendor's web events are.
    assert 800 <= len(pages[0].content) / 10_000 <= 1600
    stamps = [r["timestamp"] for b in bodies for r in b["result"]]
    assert stamps == sorted(stamps) and stamps[0] == NOW - WINDOW_SECONDS and stamps[-1] < NOW
