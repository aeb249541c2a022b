"""`soarpack sandbox serve` serves MetaAccess under /metaaccess and says how to reach it."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.metaaccess.helpers import ACTION

pytestmark = pytest.mark.slow


def test_sandbox_serve_exports_a_working_metaaccess_connection(tmp_path: Path) -> None:
    # Rate-limit windows (and any other state) in the test's folder, not the home's.
    env = {"PATH": "/usr/bin:/bin", "SOARPACK_STATE_DIR": str(tmp_path / "state")}
    server = subprocess.Popen(
        [sys.executable, "-m", "soarpack", "sandbox", "serve", "--port", "0"],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        exports: dict[str, str] = {}
        deadline = time.monotonic() + 30
        assert server.stderr is not None
        while "SOARPACK_METAACCESS_CLIENT_SECRET" not in exports:
            assert time.monotonic() < deadline, "sandbox serve printed no MetaAccess settings"
            line = server.stderr.readline()
            assert line, "sandbox serve stopped"
            if line.strip().startswith("export "):
                name, _, value = line.strip().removeprefix("export ").partition("=")
                exports[name] = value
        assert exports["SOARPACK_METAACCESS_BASE_URL"].endswith("/metaaccess")
        done = subprocess.run(
            [sys.executable, "-m", "soarpack", "invoke", ACTION, "--input", '{"limit": 5}'],
            capture_output=True,
            text=True,
            env={**env, **{k: v for k, v in exports.items() if "METAACCESS" in k}},
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["data"]["count"] == 5
        assert [c["status"] for c in result["meta"]["http_calls"]] == [200, 200]
        secret = exports["SOARPACK_METAACCESS_CLIENT_SECRET"]
        assert secret not in done.stdout + done.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stderr is not None:
            server.stderr.close()
