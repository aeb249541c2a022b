"""Write steps with `retry:` meeting 500/502/504, timeouts, 429, 503 and refused
connections (a subset; the full run: `python -m tests.faults --trials 0 --retries 200`):
each write is sent once, plus once per failure proven not processed or whose `verify`
read found it absent, and never applied twice."""

from __future__ import annotations

from pathlib import Path

from soarpack.pack import Pack
from tests.faults.conftest import RETRY_TRIALS, SEED
from tests.faults.retry_trials import run_retry_trials


def test_a_write_is_resent_only_when_proven_unprocessed_or_verified_absent(
    pack: Pack, tmp_path: Path
) -> None:
    totals = run_retry_trials(pack, tmp_path, RETRY_TRIALS, seed=SEED)
    assert totals.failures == []
    assert (totals.applied_twice, totals.lost) == (0, 0)
    assert totals.resent_not_processed > 0 and totals.resent_verified_absent > 0
    assert totals.verified_done > 0 and totals.in_doubt_left > 0
    assert totals.in_doubt_resent_by_operator > 0
