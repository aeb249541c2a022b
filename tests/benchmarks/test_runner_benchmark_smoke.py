"""The playbook runner benchmark runs end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import runner as bench
from soarpack.pack import Pack

TINY = ["--steps", "3", "--items", "4", "--concurrency", "2", "--latency-ms", "1", "--repeat", "1"]
KEYS = {
    "overhead_pct",
    "foreach_efficiency",
    "noop_steps_per_second",
    "direct_s",
    "runner_s",
    "ideal_s",
    "foreach_s",
    "noop_items_per_second",
    "context",
    "targets",
}


def test_json_is_one_object_with_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--json", *TINY]) == 0
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= KEYS
    assert set(result["targets"]) >= {"overhead_met", "foreach_met"}
    assert result["steps"] == 3 and result["items"] == 4
    assert result["foreach_max_in_flight"] <= 2


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(TINY) == 0
    out = capsys.readouterr().out
    assert "runner overhead" in out and "for_each efficiency" in out


def test_generated_chain_is_a_valid_playbook(tmp_path: Path, pack: Pack) -> None:
    from soarpack.playbook import validate_playbook

    for name, text in (
        ("bench-chain", bench.chain_playbook(4)),
        ("bench-loop", bench.loop_playbook(3)),
    ):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        assert validate_playbook(path, pack) == []
