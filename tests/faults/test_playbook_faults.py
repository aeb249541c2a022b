"""A shipped playbook killed at every journal boundary and mid-request, then resumed (a
subset; the full run: `python -m tests.faults --trials 0 --playbooks`): no write or
destructive request reaches the tenant twice, none is lost, and the run succeeds (or,
where the process died with an unverifiable note in flight that did arrive, stops in
doubt for the operator instead of sending it again)."""

from __future__ import annotations

from pathlib import Path

from soarpack.pack import Pack
from tests.faults.conftest import PLAYBOOKS
from tests.faults.playbook_trials import run_playbook_trials


def test_kills_at_every_boundary_and_request_never_send_a_change_twice(
    pack: Pack, tmp_path: Path
) -> None:
    totals = run_playbook_trials(pack, tmp_path, PLAYBOOKS)
    assert totals.failures == []
    assert (totals.writes_twice, totals.destructive_twice, totals.writes_lost) == (0, 0, 0)
    assert totals.not_succeeded == 0
    kinds = totals.by_kind
    assert kinds["journal_boundary"] >= 15 and kinds["request_before"] >= 10
    assert kinds["request_after"] == kinds["request_before"]
    assert kinds["sigkill_mid_request"] == 2  # the suspension and the note
    # Kills just after the note reached the tenant leave the run in doubt, never resent.
    assert totals.in_doubt_left >= 1
