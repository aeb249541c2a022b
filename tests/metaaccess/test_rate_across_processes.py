"""A burst of separate `soarpack invoke` processes shares the account's rate limit.

Each process obtains its own token, and the vendor counts per account: without a window
shared between processes (the state dir's, soarpack/http/ratelimit_file.py) six runs of
three pages each draw 429s. The sandbox's window is shortened (5 requests per 2 s) and
the pack copy's manifest declares a matching rate (5 per 2.5 s), so the burst is over in
seconds; what is asserted is what the sandbox received and when, by its own log.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from soarpack.sandbox import RunningServer, SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import connection_env
from soarpack.sandbox.metaaccess.state import MetaAccessState
from tests.conftest import CANARY, REPO
from tests.metaaccess.helpers import ACTION, PATH

pytestmark = pytest.mark.slow

SANDBOX_REQUESTS, SANDBOX_WINDOW = 5, 2.0
DECLARED = "rate_limit: {requests: 5, per_seconds: 2.5}"
PROCESSES, PAGES = 6, 3


@pytest.fixture
def state() -> SandboxState:
    state = SandboxState(token=CANARY)
    state.metaaccess = MetaAccessState(
        client_secret=CANARY, rate_requests=SANDBOX_REQUESTS, rate_window=SANDBOX_WINDOW
    )
    return state


@pytest.fixture
def served(state: SandboxState) -> Iterator[RunningServer]:
    with start_server(create_sandbox_app(state)) as server:
        yield server


@pytest.fixture
def fast_pack(pack_copy: Path) -> Path:
    """The pack with MetaAccess's declared rate shortened as the sandbox's is."""
    manifest = pack_copy / "manifest.yaml"
    text = manifest.read_text(encoding="utf-8")
    documented = "rate_limit: {requests: 10, per_seconds: 61}"
    assert text.count(documented) == 1
    manifest.write_text(text.replace(documented, DECLARED), encoding="utf-8")
    return pack_copy


def test_a_burst_of_cli_processes_waits_instead_of_drawing_a_429(
    served: RunningServer, state: SandboxState, fast_pack: Path, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **{k: v for k, v in connection_env(served.base_url, CANARY).items() if "METAACCESS" in k},
        "SOARPACK_PACK": str(fast_pack),
        "SOARPACK_STATE_DIR": str(tmp_path / "state"),
        "PYTHONPATH": str(REPO),
    }
    inputs = json.dumps({"all_pages": True, "limit": 1, "max_devices": PAGES})
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "soarpack", "invoke", ACTION, "--input", inputs],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(PROCESSES)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    for run, (out, err) in zip(runs, outputs, strict=True):
        assert run.returncode == 0, err
        result = json.loads(out)
        assert result["data"]["count"] == PAGES
        assert [c["status"] for c in result["meta"]["http_calls"]] == [200] * (PAGES + 1)

    pages = [e for e in state.logged_requests() if e["path"].endswith(PATH)]
    assert len(pages) == PROCESSES * PAGES
    assert {e["status"] for e in pages} == {200}
    # Six tokens, one account: never more than the sandbox's 5 in any 2 s of its clock.
    received = sorted(e["time"] for e in pages)
    gaps = [
        later - first for first, later in zip(received, received[SANDBOX_REQUESTS:], strict=False)
    ]
    assert min(gaps) >= SANDBOX_WINDOW
    exchanges = [e for e in state.logged_requests() if e["path"].endswith("/o/oauth/token")]
    assert len(exchanges) == PROCESSES
