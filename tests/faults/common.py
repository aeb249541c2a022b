"""What the fault suites share, kept free of pytest so a killed child process starts fast."""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The tenant's token in every trial; like the test suite's canary, it must show up nowhere.
TOKEN = "FAULTS-tok-3e9d61c0a7"


def v2_env(base_url: str, **settings: object) -> dict[str, str]:
    """Settings for the netskope_v2 connection, as environment variables."""
    values: dict[str, object] = {"base_url": base_url, "token": TOKEN, **settings}
    return {f"SOARPACK_NETSKOPE_V2_{k.upper()}": str(v) for k, v in values.items()}


def child_env(home: Path, **extra: str) -> dict[str, str]:
    """A bare environment for a child process: nothing from the caller's credentials."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "PYTHONPATH": str(REPO),
        "SOARPACK_STATE_DIR": str(home / "soarpack-state"),
        **extra,
    }


PYTHON = sys.executable
