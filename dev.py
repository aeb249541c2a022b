#!/usr/bin/env python3
"""The two quick-start commands. Needs only Python >= 3.10; installs into ./.venv on first use.

    python3 dev.py demo    start the sandbox and run a cross-vendor playbook (with an approval) on it
    python3 dev.py test    lint, type-check, check the import layers, validate the pack and run
                           the whole test suite

The virtual environment is (re)built whenever pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".soarpack-installed"


def ensure_venv() -> None:
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.is_file() and STAMP.read_text().strip() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"dev.py: creating {VENV.name}/ (first run)", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("dev.py: installing soarpack and its test tools into .venv", file=sys.stderr)
    pip = [str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "--editable", f"{ROOT}[test,workers]"], check=True)
    STAMP.write_text(wanted)


def run(*argv: str) -> int:
    print("+ " + " ".join(argv), file=sys.stderr, flush=True)
    return subprocess.run(list(argv), cwd=ROOT, check=False).returncode


def demo() -> int:
    return run(str(PYTHON), "-m", "soarpack", "demo")


def test() -> int:
    steps = [
        (str(BIN / "ruff"), "check", "."),
        (str(BIN / "ruff"), "format", "--check", "."),
        (str(BIN / "mypy"),),
        (str(BIN / "lint-imports"),),
        (str(PYTHON), "-m", "soarpack", "validate"),
        (str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider"),
    ]
    for step in steps:
        code = run(*step)
        if code != 0:
            print(f"dev.py: failed: {' '.join(step)} (exit {code})", file=sys.stderr)
            return code
    return 0


COMMANDS = {"demo": demo, "test": test}

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    ensure_venv()
    sys.exit(COMMANDS[sys.argv[1]]())
