"""What the journals say: `soarpack runs list` and `soarpack runs show RUN`.

A run's status is its last final event; with none, it is `running` while a process
holds its lock and `interrupted` once that process is gone (its lock is free).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from soarpack.playbook.journal import RunLock, read_events, run_files, runs_dir

_ENDS = ("run_finished", "run_paused")


def run_status(folder: Path, events: list[dict[str, Any]]) -> str:
    status = None
    for event in events:
        if event.get("ev") in _ENDS:
            status = event.get("status")
        elif event.get("ev") == "run_resumed":
            status = None  # a process took the run up again after its last end
    if status is not None:
        return str(status)
    return "running" if RunLock.held(folder / "lock") else "interrupted"


def summary(folder: Path, events: list[dict[str, Any]]) -> dict[str, Any]:
    first = events[0] if events else {}
    status = run_status(folder, events)
    steps: dict[str, str] = {}
    for event in events:
        if "step" in event and event.get("item") is None and "/" not in str(event["step"]):
            steps[event["step"]] = event["ev"]
    out: dict[str, Any] = {
        "run_id": folder.name,
        "playbook": first.get("playbook"),
        "status": status,
        "started_at": first.get("started_at"),
        "updated_at": events[-1].get("t") if events else None,
        "dry_run": bool(first.get("dry_run")),
        "steps_done": sum(
            1
            for ev in steps.values()
            if ev in ("succeeded", "skipped", "planned", "verified_done", "marked_done")
        ),
    }
    if status in ("interrupted", "waiting", "in_doubt"):
        out["resume"] = f"soarpack run --resume {folder.name}"
    return out


def list_runs(runs_dir_path: str | os.PathLike[str] | None = None) -> list[dict[str, Any]]:
    """Every run under the runs directory, newest first."""
    root = runs_dir(runs_dir_path)
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.iterdir(), reverse=True):
        journal = folder / "journal.jsonl"
        if journal.is_file():
            found.append(summary(folder, read_events(journal)))
    return found


def show_run(run_id: str, runs_dir_path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """One run's summary, its per-step states and its whole journal."""
    files = run_files(run_id, runs_dir(runs_dir_path))
    events = read_events(files.journal)
    out = summary(files.folder, events)
    steps: dict[str, dict[str, Any]] = {}
    for event in events:
        step = event.get("step")
        if step is None:
            continue
        key = step if event.get("item") is None else f"{step}[{event['item']}]"
        entry = steps.setdefault(key, {})
        entry["last_event"] = event["ev"]
        for name in ("attempt", "error", "outputs", "prompt", "by", "request"):
            if name in event:
                entry[name] = event[name]
    out["steps"] = steps
    out["inputs"] = events[0].get("inputs") if events else None
    out["events"] = events
    return out
