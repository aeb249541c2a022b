"""The fault suites' default-run sizes: small, seeded, the same on every run."""

from __future__ import annotations

# 24 trials, every 8th starting with a real process that is SIGKILLed: 3 of 24 (12.5 %).
INGEST_TRIALS = 24
INGEST_KILL_SHARE = 1 / 8
SEED = 0
# Every journal boundary and every request of one playbook with an approval, a write and
# an unverifiable note, plus its real SIGKILLs (the full run: all five playbooks).
PLAYBOOKS = ["cross-vendor-response"]
# Seeded trials of retried write steps (the full run: --retries 200).
RETRY_TRIALS = 40
# Seeded trials of each section-3 race (the full run: 100 of each, `--races`).
RACES = 6
