"""The ingest loop's failure table, driven by scripted answers at the transport.

Each test scripts what Netskope answers, request by request, and checks the operations
the ingest sent and the records that reached the sink: nothing lost, nothing twice.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.ingest import Ingest, IngestOptions, JsonLinesSink, StreamResult
from soarpack.ingest.sinks import Sink, SinkError
from tests.conftest import BASE_URL, CANARY, EngineFactory, transport_for

PATH = "/api/v2/events/dataexport/events/page"
PAGE = 3  # page size for these tests: a page of fewer records means caught up


def page(*ids: int, wait: int = 0) -> httpx.Response:
    records = [{"_id": f"id{i:04d}", "n": i, "text": 'quote " and \u00fc'} for i in ids]
    return httpx.Response(200, json={"ok": 1, "result": records, "wait_time": wait})


def sink_ids(directory: Path) -> list[int]:
    return [
        json.loads(line)["n"]
        for path in sorted(directory.glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]


class Waits(list[float]):
    def __call__(self, stopping: threading.Event, seconds: float) -> bool:
        self.append(seconds)
        return stopping.is_set()


def run(
    make_engine: EngineFactory,
    router: respx.Router,
    tmp_path: Path,
    answers: list[Any],
    sink_factory: Any = None,
    **options: Any,
) -> tuple[StreamResult, list[str], Waits]:
    route = router.get(PATH)
    route.side_effect = answers
    engine = make_engine(transport_for(router), "netskope_v2", max_attempts=1)
    waits = Waits()
    job = Ingest(
        engine.session("netskope.dataexport.ingest"),
        IngestOptions(
            streams=["events/page"],
            state_dir=tmp_path / "state",
            sink_factory=sink_factory or (lambda s: JsonLinesSink(tmp_path / "out", s)),
            index="test-index",
            until_caught_up=True,
            page_size=PAGE,
            **options,
        ),
        wait=waits,
    )
    [result] = job.run()
    operations = [call.request.url.params["operation"] for call in route.calls]
    return result, operations, waits


def checkpoint(tmp_path: Path) -> dict[str, Any]:
    return json.loads((tmp_path / "state" / "checkpoints.json").read_text())["streams"][
        "events/page"
    ]


def test_follows_next_until_caught_up_and_commits(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    result, operations, waits = run(
        make_engine, router, tmp_path, [page(1, 2, 3), page(4, 5, 6, wait=2), page(7, wait=9)]
    )
    assert operations == ["next", "next", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4, 5, 6, 7]
    assert (result.pages, result.records, result.stopped) == (3, 7, "caught_up")
    assert waits == [2.0]  # the caught-up page's wait is not slept: the run ends
    saved = checkpoint(tmp_path)
    assert saved["in_flight"] is None and saved["records"] == 7 and saved["pages"] == 3
    assert saved["last_page"] == {"count": 1, "first_id": "id0007", "last_id": "id0007"}


def test_5xx_after_next_that_did_not_move_the_cursor_drops_the_resent_page(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    # the 500 came before Netskope moved the cursor: resend returns the committed page
    result, operations, _ = run(
        make_engine,
        router,
        tmp_path,
        [page(1, 2, 3), httpx.Response(500), page(1, 2, 3), page(4, 5)],
    )
    assert operations == ["next", "next", "resend", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4, 5]
    assert result.duplicates_dropped == 3 and result.resends == 1


def test_timeout_after_next_that_moved_the_cursor_gets_the_page_by_resend(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    # the answer was lost on the way back: the cursor moved, resend returns that page
    result, operations, _ = run(
        make_engine,
        router,
        tmp_path,
        [page(1, 2, 3), httpx.ReadTimeout("lost"), page(4, 5, 6), page(7)],
    )
    assert operations == ["next", "next", "resend", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4, 5, 6, 7]
    assert result.duplicates_dropped == 0


def test_malformed_page_is_asked_for_again(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    _, operations, _ = run(
        make_engine,
        router,
        tmp_path,
        [httpx.Response(200, content=b'{"ok": 1, "result": [{"_id"'), page(1, 2), page()],
    )
    assert operations == ["next", "resend"]
    assert sink_ids(tmp_path / "out") == [1, 2]


@pytest.mark.parametrize(
    ("answer", "waited"),
    [
        pytest.param(
            httpx.Response(
                429, headers={"Retry-After": "7"}, json={"message": "API rate limit exceeded"}
            ),
            7.0,
            id="429",
        ),
        pytest.param(httpx.Response(409, json={"ok": 0, "message": "busy"}), 1.0, id="409"),
    ],
)
def test_unprocessed_answers_repeat_the_same_operation(
    router: respx.Router,
    make_engine: EngineFactory,
    tmp_path: Path,
    answer: httpx.Response,
    waited: float,
) -> None:
    _, operations, waits = run(make_engine, router, tmp_path, [page(1, 2, 3), answer, page(4)])
    assert operations == ["next", "next", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4] and waited in waits


def test_persistent_409_stops_the_stream_with_the_conflict(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    busy = httpx.Response(409, json={"ok": 0, "message": "concurrent request"})
    result, operations, waits = run(make_engine, router, tmp_path, [busy] * 4, max_failures=3)
    assert isinstance(result.error, errors.ConflictError) and result.stopped == "error"
    assert "Another consumer" in (result.error.hint or "")
    assert len(operations) == 4 and waits == [1.0, 2.0, 4.0]


def test_bad_token_stops_at_once(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    result, operations, waits = run(
        make_engine,
        router,
        tmp_path,
        [httpx.Response(403, json={"ok": 0, "message": "Invalid token"})],
    )
    assert isinstance(result.error, errors.AuthenticationError) and operations == ["next"]
    assert waits == [] and CANARY not in str(result.to_dict())


class FailOnce:
    """A sink that fails the Nth page's write after writing part of it."""

    def __init__(self, inner: JsonLinesSink, fail_on_page: int) -> None:
        self.inner, self.fail_on_page, self.pages = inner, fail_on_page, 0
        self.exactly_once = True

    def position(self) -> dict[str, Any]:
        return self.inner.position()

    def write(self, records: Any) -> None:
        self.pages += 1
        if self.pages == self.fail_on_page:
            self.inner.write(records[:1])  # a torn write: part of the page reached the disk
            raise SinkError("disk full")
        self.inner.write(records)

    def commit(self) -> dict[str, Any]:
        return self.inner.commit()

    def rollback(self, position: dict[str, Any]) -> None:
        self.inner.rollback(position)

    def close(self) -> None:
        self.inner.close()


def test_sink_failure_resends_the_same_page_and_writes_it_once(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    def factory(stream: str) -> Sink:
        return FailOnce(JsonLinesSink(tmp_path / "out", stream), fail_on_page=2)

    result, operations, _ = run(
        make_engine,
        router,
        tmp_path,
        [page(1, 2, 3), page(4, 5, 6), page(4, 5, 6), page(7)],
        sink_factory=factory,
    )
    assert operations == ["next", "next", "resend", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4, 5, 6, 7]
    assert result.sink_failures == 1


class Crash(Exception):
    """Stands for the process dying: not an error the ingest handles."""


class CrashBeforeCommit(FailOnce):
    def write(self, records: Any) -> None:
        self.inner.write(records)
        self.pages += 1
        if self.pages == self.fail_on_page:
            raise Crash()


def test_crash_between_write_and_commit_is_recovered_by_resend_on_restart(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    def crashing(stream: str) -> Sink:
        return CrashBeforeCommit(JsonLinesSink(tmp_path / "out", stream), fail_on_page=2)

    first, operations, _ = run(
        make_engine, router, tmp_path, [page(1, 2, 3), page(4, 5, 6)], sink_factory=crashing
    )
    assert first.stopped == "error" and operations == ["next", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4, 5, 6]  # written, never committed
    assert checkpoint(tmp_path)["in_flight"]["operation"] == "next"

    second_router = respx.Router(base_url=BASE_URL, assert_all_called=True)
    result, operations, _ = run(make_engine, second_router, tmp_path, [page(4, 5, 6), page(7, 8)])
    assert operations == ["resend", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4, 5, 6, 7, 8]
    assert result.notes == ["recovered an uncommitted page (next) with resend"]


def test_crash_before_next_reached_netskope_drops_the_old_page_on_restart(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    # first run: page 1 committed, then the request for page 2 never arrives (500 then stop)
    first, _, _ = run(
        make_engine, router, tmp_path, [page(1, 2, 3), httpx.Response(500)], max_failures=0
    )
    assert isinstance(first.error, errors.ServerError)
    second_router = respx.Router(base_url=BASE_URL, assert_all_called=True)
    result, operations, _ = run(make_engine, second_router, tmp_path, [page(1, 2, 3), page(4, 5)])
    assert operations == ["resend", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4, 5] and result.duplicates_dropped == 3


@pytest.mark.parametrize(
    ("start", "first_operation"),
    [
        pytest.param(None, "next", id="default-oldest"),
        pytest.param("head", "head", id="head"),
        pytest.param("tail", "tail", id="tail"),
        pytest.param(1700000000, "1700000000", id="since"),
    ],
)
def test_start_position_applies_only_without_a_checkpoint(
    router: respx.Router,
    make_engine: EngineFactory,
    tmp_path: Path,
    start: Any,
    first_operation: str,
) -> None:
    _, operations, _ = run(make_engine, router, tmp_path, [page(1)], start=start)
    assert operations == [first_operation]
    again = respx.Router(base_url=BASE_URL, assert_all_called=True)
    result, operations, _ = run(make_engine, again, tmp_path, [page(2)], start=start)
    assert operations == ["next"]
    if start is not None:
        assert result.notes == ["start position ignored: a checkpoint exists"]


def test_rate_limit_headers_saying_none_left_add_the_reset_wait(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    full = page(1, 2, 3)
    full.headers.update({"RateLimit-Remaining": "0", "RateLimit-Reset": "1"})
    _, _, waits = run(make_engine, router, tmp_path, [full, page(4)])
    assert waits == [1.0]


def test_max_pages_stops_each_stream(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    result, operations, _ = run(
        make_engine, router, tmp_path, [page(1, 2, 3), page(4, 5, 6)], max_pages=2
    )
    assert result.stopped == "max_pages" and operations == ["next", "next"]
