"""The iterator-ingest benchmark's parts, fast: soarpack's and the floor's children against
a live sandbox serving a one-page stream (gzipped, as the simulator's log shows), and the
figures and table of four sides from runs made up here. netskopesdk's children need its
own venv (installed by the benchmark on first use) and are not run here. No timing is
asserted."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import __main__ as harness
from benchmarks import ingest_children, ingest_sides, iterator_ingest
from benchmarks.ingest_sides import Measured, OutputSummary, Side
from benchmarks.iterator_ingest import Round, SideResult
from soarpack.sandbox import SandboxState, create_netskope_app, start_server
from tests.conftest import CANARY, REPO

RECORDS = 30


@pytest.fixture
def served() -> Iterator[str]:
    state = SandboxState(token=CANARY, events_per_type=RECORDS, v2_rate_limit=False)
    with start_server(create_netskope_app(state)) as server:
        yield server.base_url


@pytest.mark.parametrize("kind", ["soarpack", "floor"])
def test_a_side_reads_every_record_gzipped(served: str, tmp_path: Path, kind: str) -> None:
    side = Side("", kind, kind, Path(sys.executable))
    env = ingest_sides.child_env(CANARY, served)
    env["PYTHONPATH"] = str(REPO)
    out = tmp_path / "out"
    # One page holds every record; the floor asks for it and the empty one after it.
    cmd = side.command(served, "bench-smoke", out, None, requests=2)
    measured = ingest_sides.run_measured(kind, cmd, env, tmp_path, 120, side.parse)
    assert measured.pages == (2 if kind == "floor" else 1) and measured.cpu_s > 0
    err = (tmp_path / f"{kind}.err").read_text()
    reported = int(err.rsplit(ingest_children.PEAK_RSS_PREFIX, 1)[1])
    assert measured.peak_rss_mb == reported / 1024  # its own, not the fork's from pytest
    written = ingest_sides.summarize_output(out)
    assert written.lines == RECORDS and written.first_id and written.last_id
    assert ingest_sides.gzip_answers(served) == {"bench-smoke": 1}  # the empty page is not
    if kind == "floor":
        assert measured.summary["gunzip"].startswith("isal ")
        assert measured.summary["gzip_pages"] == 1


def measured(name: str, cpu_s: float, records: int, rss: float = 50.0) -> Measured:
    summary = {"gunzip": "isal 1.9.1", "bytes": 123, "netskopesdk": "0.0.41"}
    summary |= {"requests": "2.0", "msgspec": "0.23.0"}
    return Measured(name, records, records // 10_000 + 1, cpu_s, cpu_s, 0.0, rss, summary, name)


def side_result(kind: str, net_cpu_s: list[float], records: int) -> SideResult:
    key = {"soarpack": "", "sdk-json": "netskopesdk", "sdk-msgspec": "netskopesdk_msgspec"}
    side = Side(key.get(kind, kind), kind, kind, Path(sys.executable))
    rounds = [
        Round(measured(f"{kind}-{n}", 0.1 + cpu, records), measured(f"{kind}-b{n}", 0.1, 0))
        for n, cpu in enumerate(net_cpu_s)
    ]
    half = (
        measured(f"{kind}-half", 0.05, records // 2) if kind in ("soarpack", "sdk-json") else None
    )
    same = OutputSummary(records, "first", "last")
    return SideResult(side, rounds, half, same)


def test_the_report_pairs_each_round_and_keeps_the_figures_it_had() -> None:
    records = 100_000  # 10 pages: net CPU 0.2 s is 20 ms a page
    results = [
        side_result("soarpack", [0.2, 0.3, 0.25], records),
        side_result("sdk-json", [2.0, 2.4, 2.5], records),
        side_result("sdk-msgspec", [0.6, 0.6, 0.5], records),
        side_result("floor", [0.1, 0.2, 0.25], records),
    ]
    indexes = {x.full.index: 10 for r in results for x in r.rounds}
    args = argparse.Namespace(client_rate_limit=False)
    report = iterator_ingest.report(results, indexes, "http://127.0.0.1:1", args)
    assert report["cpu_ms_per_page"] == pytest.approx(25.0)  # the median round's
    assert report["floor_cpu_ms_per_page"] == pytest.approx(20.0)
    assert report["cpu_ratio_rounds"] == pytest.approx([10.0, 8.0, 10.0])
    assert report["cpu_ratio"] == pytest.approx(10.0)
    assert report["floor_ratio_rounds"] == pytest.approx([2.0, 1.5, 1.0])
    assert report["floor_ratio"] == pytest.approx(1.5)
    assert report["netskopesdk_msgspec_cpu_ratio"] == pytest.approx(2.0)
    assert report["gzip"] is True and report["same_records"] is True
    assert report["targets"]["floor_ratio_met"] and report["targets"]["cpu_ratio_met"]
    assert {"netskopesdk_cpu_ms_per_page", "peak_rss_ratio", "memory_flat"} <= set(report)
    table = iterator_ingest.render_table(report)
    assert "soarpack / floor: 1.50x [2.00, 1.50, 1.00]" in table
    assert "sdk + msgspec" in table and "floor's gunzip isal 1.9.1" in table

    top = harness.headline({**FIXED, "iterator_ingest": report})
    assert top["ingest_floor_ratio"] == pytest.approx(1.5)
    assert top["ingest_floor_cpu_ms_per_page"] == pytest.approx(20.0)
    assert top["ingest_gzip"] is True
    assert top["ingest_sdk_cpu_ratio"] == top["ingest_cpu_ratio"] == pytest.approx(10.0)
    assert top["ingest_sdk_msgspec_cpu_ratio"] == pytest.approx(2.0)
    json.dumps(report)


def test_a_side_not_served_gzip_makes_gzip_false() -> None:
    results = [
        side_result(kind, [0.2], 100_000)
        for kind in ("soarpack", "sdk-json", "sdk-msgspec", "floor")
    ]
    indexes = {r.rounds[0].full.index: 10 for r in results[:3]}  # the floor's: none gzipped
    report = iterator_ingest.report(
        results, indexes, "http://x", argparse.Namespace(client_rate_limit=False)
    )
    assert report["gzip"] is False and report["gzip_by_side"]["floor"] is False


FIXED = {
    "invoke": {"invoke_overhead_ratio": 1.0},
    "cold_start": {"cold_start_ratio": 1.0},
    "runner": {"overhead_pct": 1.0, "foreach_efficiency": 1.0},
}
