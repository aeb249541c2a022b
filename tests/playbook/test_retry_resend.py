"""A step's `retry:` resends a write only when the failure proves it was not processed,
or after the action's `verify` read shows the change absent (issue 17, section 2).

The mock service sits behind a transport that fails chosen requests either before
the service sees them or after it applied them; every assertion counts the requests
that were sent and those the service applied.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from soarpack import errors
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.playbook import RunResult, resume_run, run_playbook
from soarpack.playbook.journal import read_events
from tests.conftest import Sleeps
from tests.playbook.conftest import write_playbook
from tests.playbook.mockserver import BASE_URL, TOKEN, ThingsServer

Fault = int | Exception  # a status to answer, or what the transport raises


@dataclass
class Faulty:
    """The things service behind a transport that fails the next requests as planned."""

    server: ThingsServer = field(default_factory=ThingsServer)
    sent: list[str] = field(default_factory=list)
    plan: dict[str, list[tuple[str, Fault]]] = field(default_factory=lambda: defaultdict(list))

    def before(self, request: str, *faults: Fault) -> None:
        """Fail `request` ("METHOD /path") with these, the service never seeing it."""
        self.plan[request].extend(("before", f) for f in faults)

    def after(self, request: str, *faults: Fault) -> None:
        """Let the service apply `request`, then lose its answer to these."""
        self.plan[request].extend(("after", f) for f in faults)

    def handle(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.method} {request.url.path}"
        self.sent.append(key)
        when, fault = self.plan[key].pop(0) if self.plan[key] else ("", 0)
        if when == "after":
            self.server.handle(request)
        if isinstance(fault, Exception):
            raise fault
        if fault:
            return httpx.Response(fault, json={"message": f"injected {fault}"})
        return self.server.handle(request)


@dataclass
class Setup:
    faulty: Faulty
    engine: Engine
    runs: Path
    folder: Path

    def run(self, text: str) -> tuple[RunResult, list[dict[str, Any]]]:
        path = write_playbook(self.folder, text)
        result = run_playbook(path, engine=self.engine, runs_dir_path=self.runs)
        return result, read_events(self.runs / result.run_id / "journal.jsonl")


@pytest.fixture
def setup(mock_pack: Pack, sleeps: Sleeps, tmp_path: Path) -> Iterator[Setup]:
    faulty = Faulty()
    faulty.server.things.update({"a": {"id": "a"}})
    env = {
        "SOARPACK_MOCK_BASE_URL": BASE_URL,
        "SOARPACK_MOCK_TOKEN": TOKEN,
        "SOARPACK_MOCK_MAX_ATTEMPTS": "1",  # only the step's retry sends again
    }
    engine = Engine(
        mock_pack,
        Config(env=env),
        transports={"mock": httpx.MockTransport(faulty.handle)},
        sleep=sleeps,
    )
    folder = tmp_path / "books"
    folder.mkdir()
    yield Setup(faulty, engine, tmp_path / "runs", folder)
    engine.close()


def touch_book(errors_listed: str = "[ServerError, RateLimitedError, TransportError]") -> str:
    return f"""
name: test-book
description: a write with no verify, retried
steps:
  - id: touch
    action: mock.things.touch
    with: {{id: a}}
    retry: {{max_attempts: 3, delay: 0, errors: {errors_listed}}}
"""


DELETE_BOOK = """
name: test-book
description: a destructive step whose effect a verify read can check, retried
steps:
  - id: delete
    action: mock.things.delete
    with: {id: a}
    approval: none
    retry: {max_attempts: 3, delay: 0, errors: [ServerError]}
"""


@pytest.mark.parametrize("status", [500, 502, 504])
@pytest.mark.parametrize("applied", [False, True], ids=["lost-before", "applied"])
def test_a_write_meeting_500_502_504_is_sent_once_and_left_in_doubt(
    setup: Setup, status: int, applied: bool
) -> None:
    (setup.faulty.after if applied else setup.faulty.before)("PUT /things/a/touch", status)
    result, events = setup.run(touch_book())
    assert setup.faulty.sent == ["PUT /things/a/touch"]  # one request, whatever retry says
    assert result.status == "in_doubt" and result.exit_code == 11
    error = result.error
    assert isinstance(error, errors.InDoubtError) and error.steps == ["touch"]
    assert f"touch was not sent again: after ServerError {status}" in str(error)
    assert "declares no `verify` read" in str(error)
    doubt = [e for e in events if e["ev"] == "in_doubt"]
    assert doubt and doubt[0]["error"]["processed"] is None
    # The same state as after a crash: the operator's --retry-in-doubt sends it again.
    again = resume_run(
        result.run_id, engine=setup.engine, runs_dir_path=setup.runs, retry_in_doubt=["touch"]
    )
    assert again.status == "succeeded"
    assert setup.faulty.sent == ["PUT /things/a/touch"] * 2


def test_a_read_timeout_on_a_write_is_not_sent_again(setup: Setup) -> None:
    setup.faulty.after("PUT /things/a/touch", httpx.ReadTimeout("no answer"))
    result, _ = setup.run(touch_book("[RequestTimeout]"))
    assert setup.faulty.sent == ["PUT /things/a/touch"]
    assert result.status == "in_doubt"
    assert "after RequestTimeout it is unknown" in str(result.error)


@pytest.mark.parametrize(
    "fault",
    [503, 429, httpx.ConnectError("[Errno 111] Connection refused")],
    ids=["503", "429", "refused"],
)
def test_a_write_proven_not_processed_is_sent_again_and_succeeds(
    setup: Setup, fault: Fault
) -> None:
    setup.faulty.before("PUT /things/a/touch", fault)
    result, events = setup.run(touch_book())
    assert result.status == "succeeded"
    assert setup.faulty.sent == ["PUT /things/a/touch"] * 2
    assert setup.faulty.server.things["a"]["touched"] == 1  # applied once
    retried = [e for e in events if e["ev"] == "retrying"]
    assert [e["error"]["processed"] for e in retried] == [False]


def test_a_final_answer_fails_the_step_without_sending_again(setup: Setup) -> None:
    setup.faulty.before("PUT /things/a/touch", 404)
    result, _ = setup.run(touch_book("[NotFoundError]"))
    assert setup.faulty.sent == ["PUT /things/a/touch"]
    assert result.status == "failed"
    failed = result.failed_step
    assert failed["type"] == "NotFoundError"
    assert (
        "Not sent again: the vendor answered it for good (NotFoundError 404)" in failed["message"]
    )


def test_with_verify_a_502_whose_change_is_absent_is_verified_then_sent_again(
    setup: Setup,
) -> None:
    setup.faulty.before("DELETE /things/a", 502)
    result, events = setup.run(DELETE_BOOK)
    assert result.status == "succeeded"
    assert setup.faulty.sent == ["DELETE /things/a", "GET /things/a", "DELETE /things/a"]
    assert "a" not in setup.faulty.server.things
    kinds = [e["ev"] for e in events if e.get("step") == "delete"]
    assert kinds == ["started", "in_doubt", "verified_absent", "started", "succeeded"]


def test_with_verify_a_502_whose_change_is_there_is_not_sent_again(setup: Setup) -> None:
    setup.faulty.after("DELETE /things/a", 502)
    result, events = setup.run(DELETE_BOOK)
    assert result.status == "succeeded"
    assert setup.faulty.sent == ["DELETE /things/a", "GET /things/a"]  # checked, not resent
    kinds = [e["ev"] for e in events if e.get("step") == "delete"]
    assert kinds == ["started", "in_doubt", "verified_done"]


def test_with_verify_a_failing_check_leaves_the_step_in_doubt(setup: Setup) -> None:
    setup.faulty.before("DELETE /things/a", 504)
    setup.faulty.before("GET /things/a", 500)
    result, _ = setup.run(DELETE_BOOK)
    assert setup.faulty.sent == ["DELETE /things/a", "GET /things/a"]
    assert result.status == "in_doubt"
    message = str(result.error)
    assert "delete was not sent again: after ServerError 504" in message
    assert "`verify` read (mock.things.get) failed" in message
    # A resume asks the verify read again: the delete was never applied, so it is sent.
    again = resume_run(result.run_id, engine=setup.engine, runs_dir_path=setup.runs)
    assert again.status == "succeeded"
    assert setup.faulty.sent[2:] == ["GET /things/a", "DELETE /things/a"]


def test_a_loop_item_in_doubt_stops_the_loop_until_the_operator_decides(setup: Setup) -> None:
    setup.faulty.server.things.update({"b": {"id": "b"}})
    setup.faulty.before("PUT /things/a/touch", 502)
    book = """
name: test-book
description: a loop of writes, retried
steps:
  - id: touch
    action: mock.things.touch
    for_each: ["a", "b"]
    with: {id: "${{ item }}"}
    retry: {max_attempts: 3, delay: 0}
"""
    result, _ = setup.run(book)
    assert setup.faulty.sent == ["PUT /things/a/touch"]  # the item in doubt holds its slot
    assert result.status == "in_doubt"
    assert result.error is not None and "touch[0] was not sent again" in str(result.error)
    again = resume_run(
        result.run_id, engine=setup.engine, runs_dir_path=setup.runs, retry_in_doubt=["touch[0]"]
    )
    assert again.status == "succeeded"
    assert setup.faulty.sent == [
        "PUT /things/a/touch",
        "PUT /things/a/touch",
        "PUT /things/b/touch",
    ]
