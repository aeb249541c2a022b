"""Fault-injection suites: the ingest and the shipped playbooks under seeded faults and kills.

The default test run does a small seeded subset (`pytest tests/faults`); the full run
is one command that prints the trial count and the totals:

    .venv/bin/python -m tests.faults --trials 1000 --playbooks
"""
