"""The ingest under seeded faults and kills (a small subset; the full run: `python -m
tests.faults --trials 1000`): every record of the tenant in the files exactly once."""

from __future__ import annotations

from pathlib import Path

from soarpack.pack import Pack
from tests.faults.conftest import INGEST_KILL_SHARE, INGEST_TRIALS, SEED
from tests.faults.ingest_trials import REQUEST_FAULTS, SINK_FAULTS, run_ingest_trials


def test_seeded_fault_trials_lose_and_duplicate_no_record(pack: Pack, tmp_path: Path) -> None:
    totals = run_ingest_trials(
        pack, tmp_path, INGEST_TRIALS, seed=SEED, kill_share=INGEST_KILL_SHARE
    )
    assert totals.failures == []
    assert (totals.records_lost, totals.records_duplicated) == (0, 0)
    assert (totals.lines_corrupt, totals.out_of_order, totals.premature_caught_up) == (0, 0, 0)
    assert totals.trials == INGEST_TRIALS and totals.records_expected > 1_000
    # The subset really exercises what it claims: every fault, and real kills.
    assert set(REQUEST_FAULTS) | set(SINK_FAULTS) | {"crash_in_wait"} <= set(totals.injected)
    assert totals.sigkill_trials == totals.sigkills == 3
