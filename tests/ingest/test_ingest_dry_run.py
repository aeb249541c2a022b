"""A dry run of the ingest, alone and as a playbook step: it reports the page request it
would send and writes nothing (no checkpoint, no output file, no lock, no state dir, no
installation id), on a fresh state dir, after a real run and after a crash mid-page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soarpack.engine import Engine
from soarpack.ingest.checkpoint import CheckpointStore
from soarpack.ingest.identity import NEW_ID_PLACEHOLDER, default_index
from soarpack.playbook import run_playbook
from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app
from tests.conftest import BASE_URL, CANARY, EngineFactory
from tests.playbook.conftest import write_playbook

SMALL = {"events_per_type": 2_500, "page_size": 1_000, "v2_rate_limit": False}
INGEST = "netskope.dataexport.ingest"
PAGES = f"{BASE_URL}/api/v2/events/dataexport"


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(token=CANARY, **SMALL)


@pytest.fixture
def engine(state: SandboxState, make_engine: EngineFactory) -> Iterator[Engine]:
    transport = InProcessTransport(create_netskope_app(state))
    yield make_engine(transport, "netskope_v2")
    transport.close()


def inputs(tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {
        "streams": ["events/page", "alerts/dlp"],
        "output_dir": str(tmp_path / "out"),
        "state_dir": str(tmp_path / "state"),
        "page_size": SMALL["page_size"],
        **more,
    }


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` with its content (directories count as b"")."""
    return {
        str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else b"")
        for p in sorted(folder.rglob("*"))
    }


def test_a_fresh_dry_run_reports_the_first_page_and_creates_nothing(
    state: SandboxState, engine: Engine, tmp_path: Path
) -> None:
    result = engine.invoke(INGEST, inputs(tmp_path), dry_run=True)
    assert result.dry_run is True and result.calls == []
    # The real run would generate an id; the dry run names its place instead of writing one.
    index = f"soarpack-{NEW_ID_PLACEHOLDER}-events-page".replace("<", "%3C").replace(">", "%3E")
    assert result.data == {
        "dry_run": True,
        "request": {
            "method": "GET",
            "url": f"{PAGES}/events/page?index={index}&operation=next",
            "body": None,
        },
    }
    assert state.logged_requests() == []
    assert files_under(tmp_path) == {}


def test_a_dry_run_after_a_run_continues_its_index_and_changes_no_file(
    state: SandboxState, engine: Engine, tmp_path: Path
) -> None:
    engine.invoke(INGEST, inputs(tmp_path))
    before = files_under(tmp_path)
    sent = len(state.logged_requests())
    state.append_events("events/page", 10)

    result = engine.invoke(INGEST, inputs(tmp_path, start="tail"), dry_run=True)
    index = default_index(tmp_path / "state", "events/page")
    assert result.data["request"]["url"] == f"{PAGES}/events/page?index={index}&operation=next"
    assert len(state.logged_requests()) == sent
    assert files_under(tmp_path) == before  # checkpoint, locks, files: byte for byte


def test_a_dry_run_after_a_crash_mid_page_plans_the_resend_and_keeps_the_mark(
    state: SandboxState, engine: Engine, tmp_path: Path
) -> None:
    engine.invoke(INGEST, inputs(tmp_path, streams=["events/page"], max_pages=1))
    store = CheckpointStore(tmp_path / "state" / "checkpoints.json")
    mark = {"operation": "next", "retrying": None, "sink": store.get("events/page")["sink"]}
    store.update("events/page", in_flight=mark)
    before = files_under(tmp_path)

    result = engine.invoke(INGEST, inputs(tmp_path, streams=["events/page"]), dry_run=True)
    index = default_index(tmp_path / "state", "events/page")
    assert result.data["request"]["url"] == f"{PAGES}/events/page?index={index}&operation=resend"
    assert files_under(tmp_path) == before
    assert store.get("events/page")["in_flight"] == mark  # the next real run still recovers


BOOK = """
name: test-book
description: Collect two streams.
steps:
  - id: collect
    action: netskope.dataexport.ingest
    needs: []
    with:
      streams: [events/page, alerts/dlp]
      output_dir: {out}
      state_dir: {state}
      page_size: 1000
"""


def test_a_playbook_dry_run_with_an_ingest_step_succeeds_and_writes_nothing(
    state: SandboxState, engine: Engine, tmp_path: Path
) -> None:
    # It ended in "internal error in events/page: DryRunHalt" with an in-flight checkpoint.
    work = tmp_path / "work"
    book = write_playbook(
        tmp_path, BOOK.format(out=work / "out", state=work / "state"), name="test-book"
    )
    result = run_playbook(book, engine=engine, runs_dir_path=tmp_path / "runs", dry_run=True)
    assert result.status == "succeeded" and result.dry_run
    assert result.steps["collect"]["status"] == "dry_run"
    [change] = result.changes
    assert change["step"] == "collect" and change["request"]["method"] == "GET"
    assert change["request"]["url"].startswith(f"{PAGES}/events/page?index=soarpack-")
    assert state.logged_requests() == []
    assert not work.exists()
