"""Bugs the fault suites found, each pinned by the smallest script that shows it."""

from __future__ import annotations

from pathlib import Path

import httpx
import respx

from soarpack.pack import Pack
from soarpack.playbook.journal import Journal
from tests.conftest import EngineFactory
from tests.faults.playbook_trials import PlaybookTotals, killed_trial, reference, sandbox, start
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


def test_a_loop_item_killed_before_its_request_is_sent_on_resume(
    pack: Pack, tmp_path: Path
) -> None:
    # Found by the playbook kill suite: `lacework-edge-revoke-document-sharing` killed
    # before a `metadata` or `revoke` item's request. The dead item's job still freed its
    # slot, the items beside it finished, and the loop was recorded as succeeded without
    # it; the resume found the step over, so a document's revoke_sharing was never sent.
    # Which item dies depends on thread timing: each kill is tried 8 times
    # (before the fix about 1 trial in 10 lost a write: 40 trials all but always catch it).
    name = "lacework-edge-revoke-document-sharing"
    ref = reference(pack, name, tmp_path / "reference")
    clean = sandbox(pack, tmp_path / "clean")
    try:
        start(clean, name, Journal, [])
        log = [str(e.get("action")) for e in clean.state.logged_requests()]
    finally:
        clean.close()
    loops = ("lacework_edge.documents.get_metadata", "lacework_edge.documents.revoke_sharing")
    first = log.index(loops[0]) + 1
    last = len(log) - log[::-1].index(loops[1])
    assert last - first == 4  # three documents read, two of them revoked
    totals = PlaybookTotals()
    for number in range(first, last + 1):
        for attempt in range(8):
            label = f"request {number} before {attempt}"
            killed_trial(pack, name, tmp_path, ref, label, totals, kill=(number, "before"))
    assert totals.failures == []
    assert (totals.writes_lost, totals.writes_twice, totals.not_succeeded) == (0, 0, 0)
    assert totals.writes_sent == totals.trials * sum(ref.writes.values())
