"""The v2 Client Status iterator: lifecycle, one per tenant, readiness, CSV, retention, 409s."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from soarpack.sandbox import SandboxState, create_netskope_app, start_server
from soarpack.sandbox.netskope.clientstatus import CSV_FIELDS, RETENTION_SECONDS
from soarpack.sandbox.netskope.events import record_kind, record_position
from tests.sandbox.sandbox_helpers import NOW, V2_HEADERS, export, overlapped, page, v2_error

ITERATOR = "/api/v2/dataexport/iterator"
# The small tenant's 90 events span 9 days evenly; the last 7 days hold positions 20-89.
RETAINED = list(range(20, 90))


def create(http: httpx.Client, index: str = "ci") -> httpx.Response:
    return http.post(f"{ITERATOR}/{index}", params={"eventtype": "clientstatus"})


def status(http: httpx.Client, index: str = "ci") -> str:
    response = http.get(f"{ITERATOR}/{index}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {"ok": 1, "index": index, "eventtype": "clientstatus", "status": body["status"]}
    result: str = body["status"]
    return result


def fetch(http: httpx.Client, index: str = "ci", operation: str = "next") -> httpx.Response:
    return http.get(f"{ITERATOR}/{index}/events", params={"operation": operation})


def rows(response: httpx.Response) -> list[dict[str, str]]:
    """The CSV rows of a successful fetch, checked for their header row."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    reader = csv.DictReader(io.StringIO(response.text))
    found = list(reader)
    assert tuple(reader.fieldnames or ()) == CSV_FIELDS
    return found


def served(response: httpx.Response) -> list[int]:
    return [record_position(row["_id"]) for row in rows(response)]


def ready_iterator(http: httpx.Client, index: str = "ci") -> None:
    assert create(http, index).status_code == 200
    for _ in range(10):
        if status(http, index) == "ready":
            return
    raise AssertionError("the iterator never became ready")


def test_full_lifecycle(v2: httpx.Client) -> None:
    response = create(v2)
    assert response.json() == {
        "ok": 1,
        "index": "ci",
        "eventtype": "clientstatus",
        "status": "creating",
    }
    assert [status(v2), status(v2), status(v2)] == ["creating", "creating", "ready"]
    pages = []
    while positions := served(fetch(v2)):
        pages.append(positions)
    assert [p for positions in pages for p in positions] == RETAINED  # no gap, no repeat
    assert {len(p) for p in pages} == {10}
    deleted = v2.delete(f"{ITERATOR}/ci")
    assert deleted.json() == {"ok": 1, "index": "ci", "status": "deleted"}
    v2_error(v2.get(f"{ITERATOR}/ci"), 404)
    # A new iterator starts over.
    ready_iterator(v2, "again")
    assert served(fetch(v2, "again")) == RETAINED[:10]


def test_fetch_before_ready_is_409_and_moves_nothing(v2: httpx.Client) -> None:
    create(v2)
    assert "still being created" in v2_error(fetch(v2), 409)
    status(v2)
    assert "still being created" in v2_error(fetch(v2), 409)
    status(v2)  # the second poll completes creation
    assert served(fetch(v2)) == RETAINED[:10]


def test_ready_after_zero_polls_is_ready_at_once(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.clientstatus_ready_after = 0
    assert create(v2).json()["status"] == "ready"
    assert served(fetch(v2)) == RETAINED[:10]


def test_one_iterator_per_tenant(v2: httpx.Client) -> None:
    assert create(v2, "first").status_code == 200
    assert "'first'" in v2_error(create(v2, "second"), 409)
    assert "'first'" in v2_error(create(v2, "first"), 409)
    v2_error(v2.get(f"{ITERATOR}/second"), 404)
    assert v2.delete(f"{ITERATOR}/first").status_code == 200
    assert create(v2, "second").status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="missing"),
        pytest.param({"eventtype": ""}, id="empty"),
        pytest.param({"eventtype": "page"}, id="other"),
        pytest.param({"eventtype": "ClientStatus"}, id="case"),
    ],
)
def test_create_needs_eventtype_clientstatus(
    v2: httpx.Client, v2_state: SandboxState, params: dict[str, str]
) -> None:
    assert "eventtype" in v2_error(v2.post(f"{ITERATOR}/ci", params=params), 400)
    assert v2_state.clientstatus.find("ci") is None


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        pytest.param("GET", "", id="status"),
        pytest.param("GET", "/events?operation=next", id="fetch"),
        pytest.param("DELETE", "", id="delete"),
    ],
)
def test_unknown_index_is_404(v2: httpx.Client, method: str, suffix: str) -> None:
    create(v2, "exists")
    response = v2.request(method, f"{ITERATOR}/missing{suffix}")
    assert "missing" in v2_error(response, 404)


@pytest.mark.parametrize("operation", ["", "head", "tail", str(NOW), "Next"])
def test_fetch_takes_only_next_or_resend(v2: httpx.Client, operation: str) -> None:
    ready_iterator(v2)
    assert "operation" in v2_error(fetch(v2, operation=operation), 400)
    assert served(fetch(v2)) == RETAINED[:10]


def test_resend_repeats_the_last_page(v2: httpx.Client) -> None:
    ready_iterator(v2)
    assert served(fetch(v2, operation="resend")) == []  # nothing served yet
    fetch(v2)
    second = served(fetch(v2))
    assert served(fetch(v2, operation="resend")) == second == RETAINED[10:20]
    assert served(fetch(v2)) == RETAINED[20:30]


def test_retention_drops_events_older_than_seven_days(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    v2_state.page_size = 1000
    ready_iterator(v2)
    found = rows(fetch(v2))
    cutoff = NOW - RETENTION_SECONDS
    assert found and all(int(row["timestamp"]) >= cutoff for row in found)
    events = v2_state.clientstatus.events
    assert events.count == 90
    # The dropped ones exist: they are simply past retention.
    assert events.timestamp(RETAINED[0] - 1) < cutoff <= events.timestamp(RETAINED[0])
    assert len(found) == len(RETAINED)


@pytest.mark.parametrize(
    ("page_size", "waits"),
    [
        pytest.param(10, ["0"] * 7 + ["30"], id="exact-pages"),
        pytest.param(30, ["0", "0", "20", "30"], id="short-last-page"),
    ],
)
def test_wait_time_header(
    v2: httpx.Client, v2_state: SandboxState, page_size: int, waits: list[str]
) -> None:
    v2_state.page_size = page_size
    ready_iterator(v2)
    responses = [fetch(v2) for _ in waits]
    assert [r.headers["wait_time"] for r in responses] == waits
    assert {r.headers["RateLimit-Limit"] for r in responses} == {"4"}


def test_csv_rows_parse_back_whole(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.page_size = 1000
    ready_iterator(v2)
    response = fetch(v2)
    assert response.text.startswith(",".join(CSV_FIELDS) + "\r\n")
    found = rows(response)
    hostnames = {row["hostname"] for row in found}
    assert "Zoë's MacBook Pro, 14\" (M3)" in hostnames
    reasons = {row["reason"] for row in found}
    assert any("," in reason and '"' in reason for reason in reasons)
    for row in found:
        assert None not in row  # no row split into extra columns by a stray comma
        assert record_kind(row["_id"]) == "clientstatus"
        assert row["status"] in {"Enabled", "Disabled", "Uninstalled"}
        assert row["user"].endswith("@example.com") and row["device_id"] and row["os"]
    stamps = [int(row["timestamp"]) for row in found]
    assert stamps == sorted(stamps)


def test_appended_events_reach_a_drained_iterator(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.page_size = 1000
    ready_iterator(v2)
    fetch(v2)
    assert served(fetch(v2)) == []
    v2_state.append_events("clientstatus", 3)
    found = rows(fetch(v2))
    assert [record_position(row["_id"]) for row in found] == [90, 91, 92]
    assert all(int(row["timestamp"]) >= NOW for row in found)


def test_concurrent_fetches_on_one_iterator_are_409(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    ready_iterator(v2)
    slow, quick = overlapped(v2_state, lambda: fetch(v2), lambda: fetch(v2))
    assert served(slow) == RETAINED[:10]
    assert "concurrent event fetch requests on the same iterator are not supported" in (
        v2_error(quick, 409)
    )
    assert served(fetch(v2)) == RETAINED[10:20]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("create", "delete", id="delete-during-create"),
        pytest.param("delete", "create", id="create-during-delete"),
        pytest.param("delete", "delete", id="two-deletes"),
    ],
)
def test_concurrent_create_or_delete_is_409(
    v2: httpx.Client, v2_state: SandboxState, first: str, second: str
) -> None:
    if first == "delete":
        create(v2, "old")
    actions = {
        "create": lambda: create(v2, "new"),
        "delete": lambda: v2.delete(f"{ITERATOR}/old"),
    }
    slow, quick = overlapped(v2_state, actions[first], actions[second])
    assert slow.status_code == 200
    assert "concurrent create/delete not supported" in v2_error(quick, 409)
    # The first request did its work; the refused one did none.
    assert (v2_state.clientstatus.find("new") is not None) == (first == "create")
    assert v2_state.clientstatus.find("old") is None


def test_status_polls_are_not_blocked_by_a_fetch(v2: httpx.Client, v2_state: SandboxState) -> None:
    ready_iterator(v2)
    slow, quick = overlapped(v2_state, lambda: fetch(v2), lambda: v2.get(f"{ITERATOR}/ci"))
    assert served(slow) == RETAINED[:10]
    assert quick.json()["status"] == "ready"


def test_both_iterators_over_loopback_http(v2_state: SandboxState) -> None:
    v2_state.clientstatus_ready_after = 1
    with (
        start_server(create_netskope_app(v2_state)) as server,
        httpx.Client(base_url=server.base_url, headers=V2_HEADERS, timeout=5) as http,
    ):
        assert page(export(http)) == (list(range(10)), 0)
        assert create(http).status_code == 200
        assert status(http) == "creating"
        response = fetch(http)
        assert served(response) == RETAINED[:10]
        assert response.headers["wait_time"] == "0"
        assert response.headers["RateLimit-Remaining"] == "4"
        assert http.delete(f"{ITERATOR}/ci").status_code == 200
