"""The CLI cold-start benchmark runs end to end with one round (no timing is asserted)."""

from __future__ import annotations

import json

import pytest

from benchmarks import cold_start as bench


@pytest.mark.slow
def test_one_round(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--json", "--repeat", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cold_start_ratio"] > 0
    assert len(result["cold_start_rounds_ms"]) == 1
    assert result["cold_start_imports_ms"], "-X importtime gave nothing"
    assert "soarpack invoke" in bench.render_table(result)
