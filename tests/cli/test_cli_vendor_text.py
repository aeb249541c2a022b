"""`soarpack invoke` prints an answer holding a lone surrogate (`"\\ud800"`) with U+FFFD
in its place, exit 0: its UTF-8 stdout can carry every character of it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from soarpack.sandbox import start_server
from tests.conftest import CANARY, REPO

HANG_GUARD_S = 120  # a generous bound: the command takes about a second


@pytest.fixture
def vendor() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    async def alerts(request: Request) -> Response:
        seen.append(f"{request.method} {request.url.path}")
        body = rb'{"status": "success", "data": [{"_id": "1", "alert_name": "bad \ud800 name"}]}'
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/api/v1/alerts", alerts, methods=["GET", "POST"])])
    with start_server(app) as server:
        yield server.base_url, seen


def test_invoke_prints_an_answer_with_a_lone_surrogate(
    vendor: tuple[str, list[str]], tmp_path: Path
) -> None:
    base_url, seen = vendor
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "PYTHONIOENCODING": "utf-8",  # strict, whatever the locale
        "SOARPACK_STATE_DIR": str(tmp_path),
        "SOARPACK_NETSKOPE_BASE_URL": base_url,
        "SOARPACK_NETSKOPE_TOKEN": CANARY,
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "soarpack",
            "invoke",
            "netskope.alerts.list",
            "--input",
            '{"timeperiod": 3600}',
        ],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=HANG_GUARD_S,
    )
    assert done.returncode == 0, done.stderr.decode("utf-8", "replace")
    result = json.loads(done.stdout.decode("utf-8"))
    assert result["data"]["alerts"][0]["alert_name"] == "bad \ufffd name"
    assert seen == ["POST /api/v1/alerts"]
    assert b"Traceback" not in done.stderr and CANARY.encode() not in done.stdout
