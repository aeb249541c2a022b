"""/api/v1/alerts and /api/v1/report: time groups, filters, ordering, grouping."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest

from soarpack.sandbox import SandboxState
from tests.sandbox.sandbox_helpers import NOW, call, data, error

DAY = 86_400
MAX = 9999


def ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["_id"] for record in records]


def expected_order(alerts: list[dict[str, Any]]) -> list[str]:
    return ids(sorted(alerts, key=lambda a: (-a["timestamp"], a["_id"])))


@pytest.mark.parametrize(
    "period", [3600, 86400, 604800, 2592000, 5184000, 7776000], ids=lambda p: f"{p}s"
)
def test_timeperiod_counts_back_from_now(
    client: httpx.Client, state: SandboxState, period: int
) -> None:
    got = data(call(client, "alerts", timeperiod=period, limit=MAX))
    want = [a for a in state.alerts if a["timestamp"] > NOW - period]
    assert ids(got) == expected_order(want)
    assert got, "every period should hold some alerts"


def test_last_24_hours_hold_a_good_share(client: httpx.Client) -> None:
    assert len(data(call(client, "alerts", timeperiod=86400, limit=MAX))) >= 150


def test_starttime_endtime_is_exclusive_then_inclusive(
    client: httpx.Client, state: SandboxState
) -> None:
    newest = max(state.alerts, key=lambda a: a["timestamp"])
    start, end = newest["timestamp"] - 5 * DAY, newest["timestamp"]
    got = data(call(client, "alerts", starttime=start, endtime=end, limit=MAX))
    assert ids(got) == expected_order([a for a in state.alerts if start < a["timestamp"] <= end])
    assert newest["_id"] in ids(got)
    at_start = data(call(client, "alerts", starttime=end, endtime=end + 10, limit=MAX))
    assert newest["_id"] not in ids(at_start)


def test_insertion_window_uses_insertion_time(client: httpx.Client, state: SandboxState) -> None:
    target = state.alerts[10]
    inserted = target["_insertion_epoch_timestamp"]
    got = data(call(client, "alerts", insertionstarttime=inserted - 1, insertionendtime=inserted))
    assert target["_id"] in ids(got)
    assert all(a["_insertion_epoch_timestamp"] == inserted for a in got)
    # Its event time is earlier than the insertion window: an event-time query misses it.
    by_event = data(call(client, "alerts", starttime=inserted - 1, endtime=inserted))
    assert target["_id"] not in ids(by_event)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        pytest.param({}, "is required", id="no-time-group"),
        pytest.param(
            {"timeperiod": 3600, "starttime": 1, "endtime": 2}, "not a combination", id="two"
        ),
        pytest.param(
            {"starttime": 1, "endtime": 2, "insertionstarttime": 1, "insertionendtime": 2},
            "not a combination",
            id="event-and-insertion",
        ),
        pytest.param({"starttime": 1}, "starttime needs endtime", id="start-alone"),
        pytest.param({"insertionendtime": 9}, "needs insertionstarttime", id="insert-end-alone"),
        pytest.param({"starttime": 9, "endtime": 1}, "must not be after", id="reversed"),
        pytest.param({"timeperiod": 7200}, "timeperiod must be one of", id="odd-period"),
        pytest.param({"timeperiod": 3600, "limit": 10000}, "between 1 and 9999", id="limit"),
        pytest.param({"timeperiod": 3600, "type": "phishing"}, "Invalid type", id="type"),
        pytest.param({"timeperiod": 3600, "acked": "maybe"}, "acked must be", id="acked"),
        pytest.param({"timeperiod": 3600, "query": "user eq ("}, "Invalid query", id="query"),
    ],
)
def test_bad_alert_parameters(client: httpx.Client, params: dict[str, Any], fragment: str) -> None:
    assert fragment in error(call(client, "alerts", **params))


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        pytest.param("DLP", "DLP", id="exact"),
        pytest.param("dlp", "DLP", id="lower-case"),
        pytest.param("Security Assessment", "Security Assessment", id="with-space"),
        pytest.param("MALSITE", "malsite", id="upper-case"),
    ],
)
def test_type_filter_is_case_insensitive(
    client: httpx.Client, state: SandboxState, sent: str, stored: str
) -> None:
    got = data(call(client, "alerts", timeperiod=7776000, type=sent, limit=MAX))
    assert ids(got) == expected_order([a for a in state.alerts if a["alert_type"] == stored])


@pytest.mark.parametrize("acked", [True, False, "true", "FALSE"], ids=str)
def test_acked_filter(client: httpx.Client, state: SandboxState, acked: Any) -> None:
    wanted = str(acked).lower()
    got = data(call(client, "alerts", timeperiod=7776000, acked=acked, limit=MAX))
    assert ids(got) == expected_order([a for a in state.alerts if a["acked"] == wanted])


def test_filters_combine_and_page(client: httpx.Client, state: SandboxState) -> None:
    user = state.alerts[0]["user"]
    params = {"timeperiod": 2592000, "query": f"user eq '{user}'", "acked": "false"}
    want = expected_order(
        [
            a
            for a in state.alerts
            if a["user"] == user and a["acked"] == "false" and a["timestamp"] > NOW - 2592000
        ]
    )
    assert ids(data(call(client, "alerts", **params, limit=MAX))) == want
    assert ids(data(call(client, "alerts", **params, skip=1, limit=2))) == want[1:3]


def test_default_limit_is_one_hundred(client: httpx.Client) -> None:
    assert len(data(call(client, "alerts", timeperiod=7776000))) == 100


def test_report_counts_dlp_alerts_by_user(client: httpx.Client, state: SandboxState) -> None:
    # The vendor's own example, bare-word value and all.
    response = call(
        client,
        "report",
        query="alert_type eq DLP",
        type="alert",
        groupby="user",
        timeperiod=2592000,
    )
    rows = data(response)
    counts = Counter(
        a["user"]
        for a in state.alerts
        if a["alert_type"] == "DLP" and a["timestamp"] > NOW - 2592000
    )
    assert {row["user"]: row["count"] for row in rows} == dict(counts)
    assert rows == sorted(rows, key=lambda row: (-row["count"], row["user"]))
    assert all(set(row) == {"user", "count"} for row in rows)


def test_report_groups_by_a_numeric_field(client: httpx.Client, state: SandboxState) -> None:
    rows = data(call(client, "report", type="alert", groupby="cci", timeperiod=7776000))
    assert {row["cci"]: row["count"] for row in rows} == dict(
        Counter(a["cci"] for a in state.alerts)
    )
    assert all(isinstance(row["cci"], int) for row in rows)


def test_report_counts_whole_alerts_by_type(client: httpx.Client, state: SandboxState) -> None:
    rows = data(call(client, "report", type="alert", groupby="alert_type", timeperiod=7776000))
    assert rows[0] == {"alert_type": "DLP", "count": 180}
    assert sum(row["count"] for row in rows) == len(state.alerts)


def test_dotted_fields_in_lists_for_query_and_groupby(
    client: httpx.Client, state: SandboxState
) -> None:
    # Shaped like the vendor's Security Assessment example: a list of standards per alert.
    # The generated assessments' own standards are set aside, so the counts are these.
    for alert in state.alerts:
        alert.pop("compliance_standards", None)
    tagged = state.alerts[:3]
    tagged[0]["compliance_standards"] = [{"standard": "CSA-CCM-3.0.1"}, {"standard": "NIST"}]
    tagged[1]["compliance_standards"] = [{"standard": "NIST"}, {"standard": "NIST"}]
    tagged[2]["compliance_standards"] = [{"standard": "CIS-AZRFND-1.0.0"}]
    found = data(
        call(
            client,
            "alerts",
            timeperiod=7776000,
            query="(compliance_standards.standard in ['NIST', 'CIS-AZRFND-1.0.0'])",
        )
    )
    assert set(ids(found)) == {a["_id"] for a in tagged}
    rows = data(
        call(
            client,
            "report",
            type="alert",
            groupby="compliance_standards.standard",
            timeperiod=7776000,
        )
    )
    # An alert counts once per distinct value, even when its list repeats one.
    assert rows == [
        {"compliance_standards.standard": "NIST", "count": 2},
        {"compliance_standards.standard": "CIS-AZRFND-1.0.0", "count": 1},
        {"compliance_standards.standard": "CSA-CCM-3.0.1", "count": 1},
    ]


@pytest.mark.parametrize("kind", ["page", "application", "audit", "infrastructure", "network"])
def test_report_on_event_types_is_empty(client: httpx.Client, kind: str) -> None:
    assert data(call(client, "report", type=kind, groupby="user", timeperiod=3600)) == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        pytest.param({"groupby": "user", "timeperiod": 3600}, "type must be one of", id="no-type"),
        pytest.param(
            {"type": "alerts", "groupby": "user", "timeperiod": 3600}, "type must", id="bad-type"
        ),
        pytest.param({"type": "alert", "timeperiod": 3600}, "groupby is required", id="groupby"),
        pytest.param({"type": "alert", "groupby": "user"}, "is required", id="no-time-group"),
    ],
)
def test_bad_report_parameters(client: httpx.Client, params: dict[str, Any], fragment: str) -> None:
    assert fragment in error(call(client, "report", **params))
