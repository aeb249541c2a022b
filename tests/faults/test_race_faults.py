"""The section-3 races, a seeded subset (the full run: `python -m tests.faults --trials 0
--races 100`): 8 resumes at once of a run killed during a write, with and without a
verification; 8 decisions at once on one approval; resumes racing approvals. Each
write reaches the tenant once, every run stays resumable to its end, nothing follows
`run_finished`, one decision is recorded, and the callers that lost were told why."""

from __future__ import annotations

from pathlib import Path

from soarpack.pack import Pack
from tests.faults.conftest import RACES, SEED
from tests.faults.race_processes import KIND, run_process_races
from tests.faults.race_trials import KINDS, run_race_trials


def test_parallel_resumes_and_decisions_drive_each_run_once(pack: Pack, tmp_path: Path) -> None:
    totals = run_race_trials(pack, tmp_path, RACES, seed=SEED)
    assert totals.failures == []
    assert totals.trials == dict.fromkeys(KINDS, RACES)
    assert totals.writes_sent == totals.writes_expected > 0  # one request per write
    assert (totals.writes_twice, totals.writes_lost) == (0, 0)
    assert (totals.unresumable, totals.events_after_finished, totals.extra_decisions) == (0, 0, 0)
    answers = totals.answers
    # The races were real: second drivers were refused, repeated decisions answered.
    assert answers["resume_verify resume: busy"] + answers["resume_no_verify resume: busy"] > 0
    assert answers["decide decide: same again"] + answers["decide decide: conflict"] > 0
    assert sum(n for a, n in answers.items() if a.endswith("drove, succeeded")) >= RACES


def test_eight_resume_processes_at_once_drive_the_run_once(pack: Pack, tmp_path: Path) -> None:
    totals = run_process_races(pack, tmp_path, 1, seed=SEED)
    assert totals.failures == []
    assert totals.writes_sent == totals.writes_expected == 1
    assert (totals.unresumable, totals.events_after_finished) == (0, 0)
    # Every process answered by its exit code: it drove, was refused as busy, or was
    # told the run had finished.
    assert sum(totals.answers.values()) == 8
    assert all(a.startswith(f"{KIND} resume: ") for a in totals.answers)
