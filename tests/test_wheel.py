"""The wheel ships the pack inside the package and works from any directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("soarpack-*.whl")
    return found


def test_wheel_contents(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {
        "soarpack",
        wheel.name.split("-py3")[0].replace(".whl", "") + ".dist-info",
    } or all(t == "soarpack" or t.endswith(".dist-info") for t in tops)
    assert "actions" not in tops and "schemas" not in tops  # no generic top-level names
    for shipped in (
        "manifest.yaml",
        "schemas/manifest.schema.json",
        "schemas/netskope/v1.json",
        "actions/netskope/dataexport.py",
    ):
        assert f"soarpack/_pack/{shipped}" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "soarpack = soarpack.cli.main:run" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_runs_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(target)}

    def soarpack(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "soarpack", *argv],
            cwd=elsewhere,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    listed = soarpack("actions", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {"netskope.clients.list", "netskope.alerts.list", "netskope.alerts.report"} <= {
        a["name"] for a in json.loads(listed.stdout)
    }
    validated = soarpack("validate")
    assert validated.returncode == 0 and "pack is valid" in validated.stdout
    where = subprocess.run(
        [sys.executable, "-c", "import soarpack; print(soarpack.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(target))
    assert not (target / "actions").exists() and not (target / "schemas").exists()
