"""v2 record streams: ids, timestamps, rendering cost, appends, settings, /_sandbox/events."""

from __future__ import annotations

import itertools
import json
from typing import Any

import httpx
import pytest

from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app
from soarpack.sandbox.netskope.events import (
    CLIENTSTATUS_KIND,
    STREAM_KINDS,
    WINDOW_SECONDS,
    record_id,
    record_kind,
    record_position,
    stream_tag,
)
from tests.sandbox.sandbox_helpers import BASE_URL, NOW, TOKEN


def test_the_vendor_types_are_all_streams() -> None:
    events = "alert application audit connection endpoint incident infrastructure network page"
    alerts = (
        "compromisedcredential ctep dlp malsite malware policy quarantine remediation "
        "securityassessment uba watchlist"
    )
    expected = [f"events/{t}" for t in events.split()] + [f"alerts/{t}" for t in alerts.split()]
    assert list(STREAM_KINDS) == expected


@pytest.mark.parametrize("kind", [*STREAM_KINDS, CLIENTSTATUS_KIND])
@pytest.mark.parametrize("position", [0, 1, 9_999, 25_000, 2**40])
def test_ids_name_their_stream_and_position(kind: str, position: int) -> None:
    rid = record_id(kind, position)
    assert len(rid) == 24 and rid == rid.lower() and int(rid, 16) >= 0
    assert rid.startswith(stream_tag(kind))
    assert (record_kind(rid), record_position(rid)) == (kind, position)


@pytest.mark.parametrize(
    "bad", ["", "abc", "0" * 23, "0" * 25, "5f1c0a9e2b0000000000000000"], ids=repr
)
def test_ids_that_are_not_sandbox_ids(bad: str) -> None:
    assert record_kind(bad) is None
    with pytest.raises(ValueError, match="24 hex"):
        record_position(bad)


def test_an_id_of_unknown_origin_has_no_kind() -> None:
    assert record_kind("ffffffff0000000000000001") is None


def test_timestamps_increase_across_the_window_then_from_now() -> None:
    state = SandboxState(token=TOKEN, now=NOW, events_per_type=1_000)
    stream = state.streams["events/audit"]
    stream.append(5)
    stamps = [stream.timestamp(k) for k in range(stream.count)]
    assert stamps[0] == NOW - WINDOW_SECONDS
    assert all(a < b for a, b in itertools.pairwise(stamps))
    assert stamps[999] < NOW and stamps[1000:] == [NOW, NOW + 1, NOW + 2, NOW + 3, NOW + 4]
    assert stream.first_at_or_after(stamps[500]) == 500
    assert stream.first_at_or_after(stamps[500] + 1) == 501
    assert stream.first_at_or_after(NOW + 100) == stream.count


def test_rendering_is_valid_json_and_matches_the_parts() -> None:
    stream = SandboxState(token=TOKEN, now=NOW, events_per_type=300).streams["alerts/uba"]
    stream.append(10)
    body = stream.render(250, 310)
    assert body == b"".join(stream.render_parts(250, 310))
    records = json.loads(b"[" + body + b"]")
    assert [record_position(r["_id"]) for r in records] == list(range(250, 310))
    assert stream.render(7, 7) == b"" and stream.render_parts(7, 3) == []
    assert stream.record(42) == json.loads(stream.render(42, 43))


@pytest.mark.parametrize(
    ("kind", "count", "error"),
    [
        pytest.param("events/bogus", 1, "unknown stream", id="unknown-kind"),
        pytest.param("events/page", -1, "non-negative", id="negative"),
        pytest.param("events/page", True, "non-negative", id="bool"),
        pytest.param("clientstatus", 1.5, "non-negative", id="float"),
    ],
)
def test_append_events_rejects_bad_input(kind: str, count: Any, error: str) -> None:
    state = SandboxState(token=TOKEN, now=NOW, client_count=5, alert_count=5)
    with pytest.raises(ValueError, match=error):
        state.append_events(kind, count)


def test_new_settings_default_to_the_vendors_numbers() -> None:
    state = SandboxState(token=TOKEN)
    assert state.v2_token is None and state.api_v2_token == TOKEN
    assert (state.events_per_type, state.page_size) == (25_000, 10_000)
    assert (state.v2_rate_limit, state.v2_idle_wait) == (True, 30)
    assert (state.clientstatus_ready_after, state.clientstatus_events) == (2, 2_500)
    assert state.streams["events/page"].count == 25_000
    assert state.clientstatus.events.count == 2_500


def test_v2_data_leaves_the_v1_data_unchanged() -> None:
    small = SandboxState(token=TOKEN, now=NOW, events_per_type=1, clientstatus_events=1)
    assert small.clients == SandboxState(token=TOKEN, now=NOW).clients
    assert small.alerts == SandboxState(token=TOKEN, now=NOW).alerts


@pytest.fixture
def admin(v2_state: SandboxState) -> httpx.Client:
    return httpx.Client(
        transport=InProcessTransport(create_netskope_app(v2_state)), base_url=BASE_URL
    )


def test_admin_lists_and_appends_events(admin: httpx.Client) -> None:
    with admin:
        counts = admin.get("/_sandbox/events").json()["counts"]
        assert counts == {**dict.fromkeys(STREAM_KINDS, 25), "clientstatus": 90}
        appended = admin.post("/_sandbox/events", json={"kind": "alerts/dlp", "count": 4})
        assert appended.json() == {"status": "ok", "kind": "alerts/dlp", "count": 29}
        appended = admin.post("/_sandbox/events", json={"kind": "clientstatus"})
        assert appended.json() == {"status": "ok", "kind": "clientstatus", "count": 91}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        pytest.param({"count": 1}, '{"kind"', id="no-kind"),
        pytest.param({"kind": "events/nope"}, "unknown stream", id="unknown-kind"),
        pytest.param({"kind": "events/page", "count": -2}, "non-negative", id="negative"),
        pytest.param([1], '{"kind"', id="not-an-object"),
    ],
)
def test_admin_rejects_bad_appends(admin: httpx.Client, payload: object, fragment: str) -> None:
    with admin:
        response = admin.post("/_sandbox/events", json=payload)
        assert response.status_code == 400
        assert fragment in response.json()["error"]
        assert admin.post("/_sandbox/events", content=b"{").status_code == 400


def test_admin_events_refuses_non_loopback_callers(v2_state: SandboxState) -> None:
    transport = InProcessTransport(create_netskope_app(v2_state), client=("10.1.2.3", 40000))
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        assert http.get("/_sandbox/events").status_code == 404
        assert http.post("/_sandbox/events", json={"kind": "events/page"}).status_code == 404
    assert v2_state.streams["events/page"].count == 25
