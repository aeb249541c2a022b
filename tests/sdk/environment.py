"""A virtual environment holding the vendor's SDK (netskopesdk, pinned), built on first use.

The SDK must never be imported into our own environment: it brings its own HTTP stack
(requests) and is what users run, not what we ship. It lives in `.venv-sdk/<name>/` at
the repository root (ignored by git), made from `requirements.txt` beside this module
with the package registry pip already uses, and reused while that file is unchanged.

Standard library only, so any runner can use it: the SDK contract test
(`test_netskopesdk.py`) does, and a benchmark could call `sdk_python()` the same way
instead of building its own environment.

    python -m tests.sdk.environment      build (or check) the environment, print its python
"""

from __future__ import annotations

import fcntl
import hashlib
import subprocess
import sys
import venv
from pathlib import Path

__all__ = ["REQUIREMENTS", "SDK_HOME", "SdkEnvironmentError", "sdk_python"]

ROOT = Path(__file__).resolve().parents[2]
SDK_HOME = ROOT / ".venv-sdk"
REQUIREMENTS = Path(__file__).with_name("requirements.txt")
_NAME = "netskopesdk"
_STAMP = ".requirements-sha256"


class SdkEnvironmentError(RuntimeError):
    """The SDK's environment could not be built; the message says which step failed."""


def _python(env: Path) -> Path:
    return env / "bin" / "python"


def sdk_python(home: Path = SDK_HOME, requirements: Path = REQUIREMENTS) -> Path:
    """The python of an environment where `requirements` are installed (built if needed).

    Safe to call from several processes at once: the first builds under a file lock,
    the others wait for it and then reuse its environment.
    """
    wanted = hashlib.sha256(requirements.read_bytes()).hexdigest()
    env = home / _NAME
    home.mkdir(parents=True, exist_ok=True)
    with open(home / f"{_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = env / _STAMP
        if _python(env).exists() and stamp.is_file() and stamp.read_text() == wanted:
            return _python(env)
        _build(env, requirements)
        stamp.write_text(wanted)
    return _python(env)


def _build(env: Path, requirements: Path) -> None:
    print(f"tests/sdk: installing {requirements.name} into {env}", file=sys.stderr)
    venv.EnvBuilder(clear=True, with_pip=True).create(env)
    install = [
        str(_python(env)),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        # Exactly the pinned set: a dependency left unpinned would be resolved anew.
        "--no-deps",
        "--requirement",
        str(requirements),
    ]
    done = subprocess.run(install, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SdkEnvironmentError(
            f"pip could not install {requirements} into {env} (exit {done.returncode}):\n"
            + (done.stderr or done.stdout)[-2000:]
        )
    check = [str(_python(env)), "-c", "import netskope_api.iterator.netskope_iterator"]
    done = subprocess.run(check, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SdkEnvironmentError(f"netskopesdk does not import in {env}:\n{done.stderr}")


if __name__ == "__main__":
    print(sdk_python())
