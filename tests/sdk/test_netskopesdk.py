"""The vendor's own iterator client, netskopesdk (pinned), against the sandbox.

netskopesdk runs in its own environment (`environment.py`) as a child process
(`netskopesdk_driver.py`) and talks to the sandbox over loopback HTTP. Every test
asserts on what the SDK handed its caller (statuses, record ids and contents,
wait_time, encodings) and on what the sandbox logged of its requests.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soarpack.sandbox import SandboxState, create_netskope_app, start_server
from soarpack.sandbox.netskope.dataexport import BUSY_MESSAGE
from soarpack.sandbox.netskope.events import STREAM_KINDS, record_kind, record_position
from soarpack.sandbox.shared.server import RunningServer
from tests.sdk.environment import sdk_python

pytestmark = pytest.mark.slow

DRIVER = Path(__file__).with_name("netskopesdk_driver.py")
TOKEN = "sdk-v1-token-0123456789"
V2_TOKEN = "sdk-v2-token-9876543210"
NOW = 1_700_000_000
RECORDS = 2_500
PAGE = 1_000


@pytest.fixture(scope="module")
def sdk() -> Path:
    return sdk_python()


def tenant(records: int = RECORDS, page_size: int = PAGE) -> SandboxState:
    return SandboxState(
        token=TOKEN,
        now=NOW,
        v2_token=V2_TOKEN,
        client_count=20,
        alert_count=20,
        events_per_type=records,
        page_size=page_size,
        # Switched on where a test is about it: the SDK sleeps a second at every fourth call.
        v2_rate_limit=False,
    )


@pytest.fixture
def state() -> SandboxState:
    return tenant()


@pytest.fixture
def server(state: SandboxState) -> Iterator[RunningServer]:
    with start_server(create_netskope_app(state)) as running:
        yield running


def run_sdk(sdk: Path, server: RunningServer, scenario: str, **plan: Any) -> dict[str, Any]:
    """Run one driver scenario in the SDK's environment; what the SDK received."""
    # requests honours proxy variables: a loopback call must not be sent to a proxy.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env["NETSKOPE_V2_TOKEN"] = V2_TOKEN
    plan = {"scenario": scenario, "base_url": server.base_url, "page_size": PAGE, **plan}
    done = subprocess.run(
        [str(sdk), str(DRIVER), json.dumps(plan)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome: dict[str, Any] = json.loads(done.stdout)
    assert outcome["versions"]["netskopesdk"] == "0.0.41"
    return outcome


def positions(seen: dict[str, Any], kind: str) -> list[int]:
    assert {record_kind(i) for i in seen["ids"]} <= {kind}
    return [record_position(i) for i in seen["ids"]]


def digest(state: SandboxState, kind: str, served: list[int]) -> str:
    """The driver's digest of these records as the sandbox holds them."""
    stream = state.streams[kind]
    records = [stream.record(k) for k in served]
    canonical = json.dumps(records, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def logged(state: SandboxState) -> list[dict[str, Any]]:
    return [e for e in state.logged_requests() if e["path"].startswith("/api/v2/")]


def test_every_event_and_alert_type_reaches_the_sdk_whole_and_gzipped(
    sdk: Path, server: RunningServer, state: SandboxState
) -> None:
    outcome = run_sdk(sdk, server, "drain", streams=list(STREAM_KINDS), index="sdk", max_calls=9)
    assert set(outcome["streams"]) == set(STREAM_KINDS)
    for kind, calls in outcome["streams"].items():
        pages = [positions(seen, kind) for seen in calls]
        # Every record once, in order, in pages of the tenant's size, then a short one.
        assert [len(p) for p in pages] == [PAGE, PAGE, RECORDS - 2 * PAGE], kind
        assert [k for p in pages for k in p] == list(range(RECORDS)), kind
        assert [seen["wait_time"] for seen in calls] == [0, 0, 15]
        for seen, served in zip(calls, pages, strict=True):
            assert seen["status"] == 200
            assert seen["digest"] == digest(state, kind, served), kind
            assert seen["asked"] == "gzip"
            assert seen["encoding"] == "gzip"
            assert seen["wire_bytes"] < seen["decoded_bytes"]
    entries = logged(state)
    assert len(entries) == 3 * len(STREAM_KINDS)
    assert {(e["status"], e["encoding"]) for e in entries} == {(200, "gzip")}
    paths = {e["path"] for e in entries}
    assert paths == {f"/api/v2/events/dataexport/{kind}" for kind in STREAM_KINDS}


def test_a_full_page_travels_gzipped(sdk: Path) -> None:
    # A full-size tenant: 10,000-record pages of about 12.8 MB of JSON.
    state = tenant(records=25_000, page_size=10_000)
    with start_server(create_netskope_app(state)) as server:
        outcome = run_sdk(
            sdk, server, "drain", streams=["events/page"], index="full", page_size=10_000,
            max_calls=5,
        )  # fmt: skip
    calls = outcome["streams"]["events/page"]
    assert [len(seen["ids"]) for seen in calls] == [10_000, 10_000, 5_000]
    first = calls[0]
    assert first["decoded_bytes"] > 12_000_000
    assert first["encoding"] == "gzip" and first["wire_bytes"] * 5 < first["decoded_bytes"]
    assert first["digest"] == digest(state, "events/page", list(range(10_000)))
    assert [e["encoding"] for e in logged(state)] == ["gzip"] * 3


def test_head_next_resend_tail_and_epoch_as_the_sdk_sends_them(
    sdk: Path, server: RunningServer, state: SandboxState
) -> None:
    kind = "events/page"
    stream = state.streams[kind]
    epoch = stream.timestamp(100)
    hour_end = stream.first_at_or_after(epoch + 3600)
    second_hour_end = stream.first_at_or_after(epoch + 7200)
    operations: list[Any] = [
        "head", "next", "resend", "head", "tail", "next", {"append": 7}, "next",
        epoch, "next", "resend", "next",
    ]  # fmt: skip
    outcome = run_sdk(sdk, server, "operations", stream=kind, index="ops", operations=operations)
    calls = outcome["calls"]
    served = [positions(seen, kind) for seen in calls]
    assert [seen["operation"] for seen in calls] == [op for op in operations if op != {"append": 7}]
    assert {seen["status"] for seen in calls} == {200}
    assert served == [
        list(range(0, PAGE)),  # head
        list(range(PAGE, 2 * PAGE)),  # next
        list(range(PAGE, 2 * PAGE)),  # resend: the same page again
        list(range(0, PAGE)),  # head: from the oldest again
        [],  # tail: to the end, nothing served
        [],  # next: nothing new yet
        list(range(RECORDS, RECORDS + 7)),  # next: just the 7 that arrived
        list(range(100, hour_end)),  # epoch: the first hour's batch from it
        list(range(hour_end, second_hour_end)),  # next: the hour after
        list(range(hour_end, second_hour_end)),  # resend
        list(range(second_hour_end, stream.first_at_or_after(epoch + 3 * 3600))),
    ]
    assert 20 < hour_end - 100 < PAGE  # an hour batch is neither trivial nor a full page
    for seen, positions_served in zip(calls, served, strict=True):
        assert seen["digest"] == digest(state, kind, positions_served)
    sent = [e["query"]["operation"] for e in logged(state)]
    assert sent == [str(op) for op in operations if op != {"append": 7}]


def test_a_429_burst_reaches_the_caller_and_the_stream_goes_on_unharmed(
    sdk: Path, server: RunningServer, state: SandboxState
) -> None:
    state.faults.push({"status": 429, "retry_after": 1}, count=3)
    outcome = run_sdk(sdk, server, "retry_429", stream="alerts/dlp", index="burst", max_calls=6)
    calls = outcome["calls"]
    assert [seen["status"] for seen in calls] == [429, 429, 429, 200]
    for refused in calls[:3]:
        assert refused["body"] == {"message": "API rate limit exceeded"}
        assert refused["headers"]["Retry-After"] == "1"
        assert refused["headers"]["RateLimit-Remaining"] == "0"
        # ...and a reset no sooner than Retry-After, which the SDK slept out before
        # handing the 429 back.
        assert refused["headers"]["RateLimit-Reset"] == "1"
    # The SDK sent each call once (it retries nothing itself) and lost nothing.
    assert positions(calls[-1], "alerts/dlp") == list(range(PAGE))
    assert [e["status"] for e in logged(state)] == [429, 429, 429, 200]


def test_the_sdk_keeps_under_the_real_limit_by_sleeping_out_the_reset(
    sdk: Path, server: RunningServer, state: SandboxState
) -> None:
    state.v2_rate_limit = True
    outcome = run_sdk(
        sdk, server, "operations", stream="events/network", index="paced", operations=["head"] * 6
    )
    calls = outcome["calls"]
    # At RateLimit-Remaining 0 it waited RateLimit-Reset before its next call, so the
    # tenant's 4-a-second limit never refused one.
    assert [seen["status"] for seen in calls] == [200] * 6
    assert [seen["remaining"] for seen in calls] == ["3", "2", "1", "0", "3", "2"]
    assert 429 not in [e["status"] for e in logged(state)]


def test_a_second_consumer_of_one_index_gets_409_and_the_stream_is_not_split(
    sdk: Path, server: RunningServer, state: SandboxState
) -> None:
    state.faults.push({"delay": 1.0})  # holds the first consumer's call in flight
    outcome = run_sdk(sdk, server, "overlap", stream="events/page", index="shared")
    assert positions(outcome["first"], "events/page") == list(range(PAGE))
    second = outcome["second"]
    assert second["status"] == 409
    assert second["body"] == {"ok": 0, "message": BUSY_MESSAGE}
    # Called again once the first is done, it gets the page after the first one's.
    assert positions(outcome["second_again"], "events/page") == list(range(PAGE, 2 * PAGE))
    entries = logged(state)
    assert sorted(e["status"] for e in entries) == [200, 200, 409]
    refused = next(e for e in entries if e["status"] == 409)
    assert refused["fault"] is None  # a refusal leaves the queue alone
