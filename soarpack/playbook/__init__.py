"""Playbooks: actions chained in YAML, run with a journal that makes every run resumable.

    load_playbook / validate_playbook   the checks before anything runs (validate.py)
    run_playbook / resume_run / approve  runs (session.py, drive.py), driven by runner.py
    approve / mark_done                  decisions from outside a drive (decisions.py)
    list_runs / show_run                 what the journals say (history.py)

See the README's "Playbooks" section for the file format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from soarpack.playbook.decisions import mark_done
    from soarpack.playbook.history import list_runs, show_run
    from soarpack.playbook.result import RunResult
    from soarpack.playbook.session import approve, resume_run, run_playbook
    from soarpack.playbook.validate import load_playbook, validate_playbook

__all__ = [
    "RunResult",
    "approve",
    "list_runs",
    "load_playbook",
    "mark_done",
    "resume_run",
    "run_playbook",
    "show_run",
    "validate_playbook",
]
_HOMES = {
    "RunResult": "result",
    "approve": "session",
    "mark_done": "decisions",
    "resume_run": "session",
    "run_playbook": "session",
    "list_runs": "history",
    "show_run": "history",
    "load_playbook": "validate",
    "validate_playbook": "validate",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"soarpack.playbook.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'soarpack.playbook' has no attribute {name!r}")
