"""Bugs the fault suites found, each pinned by the smallest script that shows it."""

from __future__ import annotations

from pathlib import Path

import httpx
import respx

from tests.conftest import EngineFactory
from tests.ingest.test_runner_failures import page, run, sink_ids


def test_a_first_next_that_never_landed_is_sent_again_not_taken_for_caught_up(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    # Found by seed 0, trial 0: the first `next` of a fresh index timed out before the
    # tenant moved anything, so `resend` answered an empty page. The ingest committed that
    # page and, it being short, ended the --until-caught-up run with 0 of 30 records read.
    result, operations, _ = run(
        make_engine,
        router,
        tmp_path,
        [httpx.Response(500), page(), page(1, 2, 3), page(4)],
    )
    assert operations == ["next", "resend", "next", "next"]
    assert sink_ids(tmp_path / "out") == [1, 2, 3, 4]
    assert (result.stopped, result.records) == ("caught_up", 4)
