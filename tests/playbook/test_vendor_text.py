"""A vendor answer holding a lone surrogate (`"\\ud800"`, which no UTF-8 output can
carry) no longer kills a run after its write was made: the text arrives with U+FFFD in
its place, the run succeeds and its journal reads back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from soarpack import errors
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.playbook import resume_run, run_playbook
from soarpack.playbook.journal import read_events
from tests.conftest import Sleeps
from tests.playbook.conftest import write_playbook
from tests.playbook.mockserver import BASE_URL, TOKEN, ThingsServer

FFFD = "\ufffd"
BOOK = """
name: test-book
description: a write, then a read, both answered with a lone surrogate in a field
steps:
  - id: make
    action: mock.things.create
    with: {id: a, value: 1}
    outputs: {note: "${{ result.note }}"}
  - id: look
    action: mock.things.get
    with: {id: a}
    outputs: {note: "${{ result.note }}"}
outputs:
  made: ${{ steps.make.outputs.note }}
  seen: ${{ steps.look.outputs.note }}
"""


class Noisy:
    """The things service, every JSON object it answers given a `note` holding a lone
    surrogate escape (valid JSON text)."""

    def __init__(self) -> None:
        self.server = ThingsServer()
        self.sent: list[str] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(f"{request.method} {request.url.path}")
        answer = self.server.handle(request)
        body = answer.read().rstrip()
        assert body.endswith(b"}"), body
        noisy = body[:-1] + rb', "note": "bad \ud800 text"}'
        return httpx.Response(
            answer.status_code, content=noisy, headers={"content-type": "application/json"}
        )


@pytest.fixture
def noisy_engine(mock_pack: Pack, sleeps: Sleeps) -> Iterator[tuple[Noisy, Engine]]:
    noisy = Noisy()
    env = {"SOARPACK_MOCK_BASE_URL": BASE_URL, "SOARPACK_MOCK_TOKEN": TOKEN}
    engine = Engine(
        mock_pack,
        Config(env=env),
        transports={"mock": httpx.MockTransport(noisy.handle)},
        sleep=sleeps,
    )
    yield noisy, engine
    engine.close()


def test_a_write_step_answered_with_a_lone_surrogate_succeeds(
    noisy_engine: tuple[Noisy, Engine], tmp_path: Path
) -> None:
    noisy, engine = noisy_engine
    runs = tmp_path / "runs"
    path = write_playbook(tmp_path, BOOK)
    result = run_playbook(path, engine=engine, runs_dir_path=runs)
    assert result.status == "succeeded" and result.exit_code == 0, result.error
    assert result.outputs == {"made": f"bad {FFFD} text", "seen": f"bad {FFFD} text"}
    assert noisy.sent == ["POST /things", "GET /things/a"]
    assert noisy.server.things["a"]["value"] == 1  # the write was made, once
    journal = runs / result.run_id / "journal.jsonl"
    journal.read_bytes().decode("utf-8")  # strict: every line is UTF-8
    events = read_events(journal)
    assert events[-1]["ev"] == "run_finished" and events[-1]["status"] == "succeeded"
    assert events[-1]["outputs"]["made"] == f"bad {FFFD} text"
    assert not [e for e in events if e["ev"] == "in_doubt"]
    # Finished, not in doubt: a resume is refused and sends nothing again.
    with pytest.raises(errors.RunStateError, match="already finished"):
        resume_run(result.run_id, engine=engine, runs_dir_path=runs)
    assert noisy.sent == ["POST /things", "GET /things/a"]
