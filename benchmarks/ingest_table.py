"""The iterator-ingest benchmark's result as a table: the four sides side by side, then the
paired ratios and the targets. Reads only the result's keys (iterator_ingest.report)."""

from __future__ import annotations

from typing import Any

SIDES = (
    ("", "soarpack"),
    ("netskopesdk_", "netskopesdk"),
    ("netskopesdk_msgspec_", "sdk + msgspec"),
    ("floor_", "floor"),
)


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def _list(values: list[float | None], digits: int = 1) -> str:
    return "[" + ", ".join(_num(v, digits) for v in values) + "]"


def _times(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _row(r: dict[str, Any], label: str, key: str, digits: int = 1) -> list[str]:
    return [label, *(_num(r.get(prefix + key), digits) for prefix, _ in SIDES)]


def render_table(r: dict[str, Any]) -> str:
    limiter = "on" if r["client_rate_limit"] else "off"
    pages = r["records"] // r["page_size"]
    lines = [
        f"iterator ingest: {r['records']:,} records ({pages} pages of {r['page_size']:,}) a "
        f"side, simulator {r['simulator']}, gzip served to every side: "
        f"{'yes' if r['gzip'] else 'NO'} {r['gzip_by_side']}",
        f"rate limiting off on the simulator; soarpack's client-side limiter {limiter}; "
        f"Python {r['python']}, netskopesdk {r['netskopesdk_version']} (requests "
        f"{r['requests_version']}), msgspec {r['msgspec_version']}, floor's gunzip "
        f"{r['floor_gunzip']}",
        f"same records on every side: {'yes' if r['same_records'] else 'NO'} "
        f"({r['first_id']} .. {r['last_id']})",
        "net = minus the start-up baseline (same command on the caught-up index: "
        "interpreter, imports, one empty page)",
        f"{r['rounds']} rounds, every side in each; a side's figures are its median round "
        "(by net CPU); ratios are paired within a round, then the median",
        "",
    ]
    rows = [
        ["", *(name for _, name in SIDES)],
        _row(r, "CPU ms per 10k-record page, net", "cpu_ms_per_page"),
        _row(r, "CPU ms per 10k-record page, raw", "cpu_ms_per_page_raw"),
        _row(r, "  CPU s user, raw", "user_s", 2),
        _row(r, "  CPU s sys, raw", "sys_s", 2),
        _row(r, "records/s, net", "records_per_second", 0),
        _row(r, "wall s, raw", "wall_s", 2),
        _row(r, "peak RSS MB", "peak_rss_mb"),
        _row(r, "peak RSS MB, half run", "half_run_peak_rss_mb"),
        _row(r, "start-up baseline: CPU ms", "baseline_cpu_ms", 0),
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append("net CPU ms per page by round:")
    for prefix, name in SIDES:
        lines.append(f"  {name}: {_list(r[prefix + 'cpu_ms_per_page_rounds'])}")
    lines += ["", *render_targets(r)]
    return "\n".join(lines)


def render_targets(r: dict[str, Any]) -> list[str]:
    t = r["targets"]

    def verdict(met: bool) -> str:
        return "met" if met else "NOT met"

    growth = r["rss_growth_mb"]
    return [
        "paired ratios (median over rounds; by round in brackets):",
        f"  soarpack / floor: {_times(r['floor_ratio'])} {_list(r['floor_ratio_rounds'], 2)}, "
        f"target <= {t['floor_ratio_max']:g}x, {verdict(t['floor_ratio_met'])}",
        f"  netskopesdk (documented use) / soarpack: {_times(r['cpu_ratio'])} "
        f"{_list(r['cpu_ratio_rounds'], 2)}, target >= {t['cpu_ratio_min']:g}x, "
        f"{verdict(t['cpu_ratio_met'])}",
        f"  netskopesdk + msgspec / soarpack: {_times(r['netskopesdk_msgspec_cpu_ratio'])} "
        f"{_list(r['netskopesdk_msgspec_cpu_ratio_rounds'], 2)}",
        "targets (soarpack):",
        f"  CPU per page <= {t['cpu_ms_per_page_max']:g} ms (net): "
        f"{_num(r['cpu_ms_per_page'])} ms, {verdict(t['cpu_ms_per_page_met'])}",
        f"  memory flat (peak grows <= 10% from {r['half_run_records']:,} to "
        f"{r['records']:,} records): {growth:+.1f} MB, {verdict(t['memory_flat_met'])}",
    ]
