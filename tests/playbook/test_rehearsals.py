"""Playbook behaviour rehearsed from YAML (tests/playbook/rehearsals/*.yaml).

Each rehearsal runs a playbook on the mock "things" service through the real
runner and engine, then checks the run's status, step order and states, outputs,
what the service received, and the waits between retries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from soarpack.playbook import run_playbook
from soarpack.playbook.journal import read_events
from tests.conftest import Sleeps
from tests.playbook.conftest import Things

REHEARSALS = [
    pytest.param(case, id=case["name"])
    for path in sorted((Path(__file__).parent / "rehearsals").glob("*.yaml"))
    for case in yaml.safe_load(path.read_text(encoding="utf-8"))
]


@pytest.mark.parametrize("case", REHEARSALS)
def test_rehearsal(case: dict[str, Any], things: Things, sleeps: Sleeps) -> None:
    for thing_id, thing in (case.get("things") or {}).items():
        things.server.things[thing_id] = dict(thing)
    for request, statuses in (case.get("fail") or {}).items():
        things.server.fail(request, *statuses)
    for name, child in (case.get("children") or {}).items():
        things.book(yaml.safe_dump(child, sort_keys=False), name)
    path = things.book(yaml.safe_dump(case["playbook"], sort_keys=False))

    result = run_playbook(
        path,
        case.get("inputs"),
        engine=things.engine,
        runs_dir_path=things.runs,
        dry_run=case.get("dry_run", False),
    )

    expect = case["expect"]
    assert result.status == expect["status"], result.to_dict()
    if "exit_code" in expect:
        assert result.exit_code == expect["exit_code"]
    if "outputs" in expect:
        assert result.outputs == expect["outputs"]
    for step, status in (expect.get("steps") or {}).items():
        assert result.steps[step]["status"] == status, result.steps
    for step, attempts in (expect.get("attempts") or {}).items():
        assert result.steps[step]["attempts"] == attempts
    for step, error_type in (expect.get("error_type") or {}).items():
        assert result.steps[step]["error"]["type"] == error_type
    for request, count in (expect.get("requests") or {}).items():
        assert things.server.count(request) == count, things.server.log
    if "bodies" in expect:
        assert things.server.bodies == expect["bodies"]
    if "changes" in expect:
        assert len(result.changes) == expect["changes"]
        assert all(c["request"]["method"] for c in result.changes)
    if "sleeps" in expect:
        assert sleeps == expect["sleeps"]
    if "order" in expect:
        events = read_events(things.runs / result.run_id / "journal.jsonl")
        assert _start_order(events, expect["order"]) == expect["order"]


def _start_order(events: list[dict[str, Any]], shape: list[Any]) -> list[Any]:
    """The steps by first start, grouped like `shape` (an inner list: any order)."""
    started: list[str] = []
    for event in events:
        if event["ev"] == "started" and event["step"] not in started:
            started.append(event["step"])
    out: list[Any] = []
    for part in shape:
        if isinstance(part, list):
            group, started = started[: len(part)], started[len(part) :]
            out.append(sorted(group) if sorted(group) == sorted(part) else group)
            if sorted(group) == sorted(part):
                out[-1] = part
        else:
            out.append(started.pop(0) if started else None)
    return out
