"""The invoke-overhead benchmark runs end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import invoke_overhead as bench


def test_json_has_the_ratio_and_the_breakdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--json", "--iterations", "3", "--rounds", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["invoke_overhead_ratio"] > 0
    assert {c["action"] for c in result["invoke_calls"]} == {
        "netskope.alerts.list",
        "lacework_edge.users.get",
    }
    for call in result["invoke_calls"]:
        assert set(call["stages_us"]) == {
            "input validation",
            "client request (with httpx)",
            "output check",
        }
    assert abs(sum(result["invoke_profile_pct"].values()) - 100) < 0.01


def test_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--iterations", "2", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "invoke overhead" in out and "where invoke time goes" in out
