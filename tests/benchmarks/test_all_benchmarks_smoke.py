"""`python -m benchmarks` puts the tracked figures at the top of one JSON object and
renders the README table, from each benchmark's own result (tiny fabricated figures: the
benchmarks themselves are smoke-tested one by one)."""

from __future__ import annotations

import pytest

from benchmarks import __main__ as harness

RESULT = {
    "python": "3.11",
    "invoke": {
        "invoke_overhead_ratio": 1.5,
        "invoke_calls": [
            {"action": "netskope.alerts.list", "ours_us": 900.0, "httpx_us": 600.0, "ratio": 1.5}
        ],
    },
    "cold_start": {
        "cold_start_ratio": 2.0,
        "cold_start_ms": 400.0,
        "cold_start_import_httpx_ms": 200.0,
        "cold_start_lean_ratio": 2.5,
        "cold_start_lean_ms": 250.0,
        "cold_start_lean_import_httpx_ms": 100.0,
    },
    "iterator_ingest": {
        "cpu_ratio": 3.0,
        "cpu_ms_per_page": 10.0,
        "netskopesdk_cpu_ms_per_page": 30.0,
        "netskopesdk_msgspec_cpu_ms_per_page": 20.0,
        "netskopesdk_msgspec_cpu_ratio": 2.0,
        "floor_cpu_ms_per_page": 8.0,
        "floor_ratio": 1.25,
        "gzip": True,
        "netskopesdk_version": "0.0.41",
        "rounds": 3,
        "records": 100000,
    },
    "runner": {
        "overhead_pct": 4.0,
        "foreach_efficiency": 0.9,
        "steps": 200,
        "runner_s": 0.2,
        "direct_s": 0.19,
        "items": 200,
        "latency_ms": 50.0,
        "concurrency": 50,
        "foreach_s": 0.22,
        "ideal_s": 0.2,
    },
}


def test_headline_figures() -> None:
    top = harness.headline(RESULT)
    assert top["invoke_overhead_ratio"] == 1.5
    assert top["cold_start_ratio"] == 2.0
    assert top["ingest_cpu_ratio"] == 3.0
    assert top["runner_overhead_pct"] == 4.0
    assert (top["ingest_floor_ratio"], top["ingest_floor_cpu_ms_per_page"]) == (1.25, 8.0)
    assert top["ingest_gzip"] is True and top["ingest_sdk_msgspec_cpu_ratio"] == 2.0


def test_markdown_names_the_command() -> None:
    text = harness.markdown(RESULT, "python -m benchmarks --json")
    assert text.startswith("| Benchmark |")
    assert "1.50x" in text and "2.00x" in text and "+4.0 %" in text
    assert "a lean install) | 250 ms | 100 ms" in text and "2.50x" in text
    assert "`python -m benchmarks --json`" in text
    assert "| 10.0 ms | 30.0 ms (netskopesdk 0.0.41 as documented: json) | 3.00x less CPU |" in text
    assert "20.0 ms (netskopesdk + msgspec, raw records) | 2.00x less CPU" in text
    assert "8.0 ms (floor: http.client, gunzip, write; no parsing) | 1.25x the floor" in text


def test_main_rejects_unknown_flags() -> None:
    with pytest.raises(SystemExit) as exc:
        harness.main(["--no-such-flag"])
    assert exc.value.code == 2
