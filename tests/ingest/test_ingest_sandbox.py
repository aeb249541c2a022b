"""The ingest end to end against the simulated tenant: action, CLI, locks, identity, crashes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soarpack import errors, exitcodes
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.ingest.identity import default_index, installation_id
from soarpack.ingest.lock import StreamLock
from soarpack.sandbox import InProcessTransport, SandboxState, create_netskope_app, start_server
from soarpack.sandbox.netskope.events import record_kind, record_position
from tests.conftest import CANARY, REPO, EngineFactory, settings_env

SMALL = {"events_per_type": 2_500, "page_size": 1_000, "v2_rate_limit": False}


def positions(directory: Path, stream: str) -> list[int]:
    prefix = stream.replace("/", "_")
    found = []
    for path in sorted(directory.glob(f"{prefix}-*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            record_id = json.loads(line)["_id"]
            assert record_kind(record_id) == stream
            found.append(record_position(record_id))
    return found


@pytest.fixture
def state() -> SandboxState:
    return SandboxState(token=CANARY, **SMALL)


@pytest.fixture
def engine(state: SandboxState, make_engine: EngineFactory) -> Iterator[Any]:
    transport = InProcessTransport(create_netskope_app(state))
    yield make_engine(transport, "netskope_v2")
    transport.close()


def ingest_inputs(tmp_path: Path, **more: Any) -> dict[str, Any]:
    return {
        "streams": ["events/page", "alerts/dlp"],
        "output_dir": str(tmp_path / "out"),
        "state_dir": str(tmp_path / "state"),
        "page_size": SMALL["page_size"],
        **more,
    }


def test_every_record_reaches_the_files_once_and_a_rerun_reads_only_new_ones(
    state: SandboxState, engine: Any, tmp_path: Path
) -> None:
    result = engine.invoke("netskope.dataexport.ingest", ingest_inputs(tmp_path))
    by_stream = {s["stream"]: s for s in result.data["streams"]}
    assert by_stream["events/page"]["records"] == 2_500
    assert by_stream["events/page"]["stopped"] == "caught_up"
    assert positions(tmp_path / "out", "events/page") == list(range(2_500))
    assert positions(tmp_path / "out", "alerts/dlp") == list(range(2_500))

    state.append_events("events/page", 1_234)
    again = engine.invoke("netskope.dataexport.ingest", ingest_inputs(tmp_path))
    assert {s["stream"]: s["records"] for s in again.data["streams"]} == {
        "events/page": 1_234,
        "alerts/dlp": 0,
    }
    assert positions(tmp_path / "out", "events/page") == list(range(3_734))


def test_start_at_tail_reads_only_what_arrives_later(
    state: SandboxState, engine: Any, tmp_path: Path
) -> None:
    inputs = ingest_inputs(tmp_path, streams=["events/audit"], start="tail")
    assert engine.invoke("netskope.dataexport.ingest", inputs).data["streams"][0]["records"] == 0
    state.append_events("events/audit", 10)
    assert engine.invoke("netskope.dataexport.ingest", inputs).data["streams"][0]["records"] == 10
    assert positions(tmp_path / "out", "events/audit") == list(range(2_500, 2_510))


def test_a_second_consumer_of_the_same_index_and_stream_is_refused(
    engine: Any, tmp_path: Path
) -> None:
    index = default_index(tmp_path / "state", "events/page")
    with (
        StreamLock(tmp_path / "state" / "locks", index, "events/page"),
        pytest.raises(errors.ConfigError) as caught,
    ):
        engine.invoke(
            "netskope.dataexport.ingest", ingest_inputs(tmp_path, streams=["events/page"])
        )
    assert f"pid {os.getpid()}" in str(caught.value) and "one consumer per index" in str(
        caught.value
    )


def test_default_indexes_are_unique_per_installation_and_stable(
    state: SandboxState, engine: Any, tmp_path: Path
) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    assert installation_id(one) == installation_id(one) != installation_id(two)
    for directory in (one, two):
        engine.invoke(
            "netskope.dataexport.ingest",
            ingest_inputs(tmp_path, streams=["events/page"], state_dir=str(directory), max_pages=1),
        )
    used = {entry["query"]["index"] for entry in state.logged_requests()}
    assert used == {default_index(one, "events/page"), default_index(two, "events/page")}
    assert all(i.startswith("soarpack-") and i.endswith("-events-page") for i in used)


def test_the_token_is_in_no_file_or_output(engine: Any, tmp_path: Path) -> None:
    result = engine.invoke("netskope.dataexport.ingest", ingest_inputs(tmp_path))
    assert CANARY not in json.dumps(result.to_dict())
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


# -- the command, over loopback HTTP, as a real process --------------------------------


@pytest.fixture
def served(state: SandboxState) -> Iterator[str]:
    with start_server(create_netskope_app(state)) as server:
        yield server.base_url


def cli(base_url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "SOARPACK_NETSKOPE_V2_BASE_URL": base_url,
        "SOARPACK_NETSKOPE_V2_TOKEN": CANARY,
        "SOARPACK_STATE_DIR": str(tmp_path / "state"),
        "PYTHONPATH": str(REPO),
    }
    command = [
        sys.executable,
        "-m",
        "soarpack",
        "ingest",
        "netskope",
        "--out",
        str(tmp_path / "out"),
    ]
    return subprocess.Popen(
        [*command, "--progress", "json", "--page-size", str(SMALL["page_size"]), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_cli_ingests_until_caught_up_with_json_progress(served: str, tmp_path: Path) -> None:
    process = cli(
        served, tmp_path, "--type", "events/page", "--type", "alerts/dlp", "--until-caught-up"
    )
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    summary = json.loads(out)
    assert summary["ok"] is True and {s["records"] for s in summary["streams"]} == {2_500}
    events = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert {e["event"] for e in events} == {"page"} and len(events) == 6  # 3 pages per stream
    assert CANARY not in out + err
    assert positions(tmp_path / "out", "alerts/dlp") == list(range(2_500))


def test_cli_refuses_bad_streams_before_sending(
    served: str, state: SandboxState, tmp_path: Path
) -> None:
    process = cli(served, tmp_path, "--type", "events/pages", "--type", "alerts")
    _, err = process.communicate(timeout=60)
    assert process.returncode == exitcodes.BAD_INPUT
    assert "/type/0" in err and "/type/1" in err and "Traceback" not in err
    assert state.logged_requests() == []


def wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def checkpoint(tmp_path: Path) -> dict[str, Any]:
    try:
        return json.loads((tmp_path / "state" / "checkpoints.json").read_text())["streams"]
    except (FileNotFoundError, ValueError, KeyError):
        return {}


def test_sigterm_stops_after_the_page_in_flight(
    served: str, state: SandboxState, tmp_path: Path
) -> None:
    # Caught up, the tenant asks for a 30 s wait: SIGTERM must end that wait at once.
    process = cli(served, tmp_path, "--type", "events/page")
    wait_for(lambda: checkpoint(tmp_path).get("events/page", {}).get("records") == 2_500)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    [stream] = json.loads(out)["streams"]
    assert (
        stream["stopped"] == "signal" and checkpoint(tmp_path)["events/page"]["in_flight"] is None
    )


def test_kill_between_fetch_and_commit_then_restart_loses_and_duplicates_nothing(
    served: str, state: SandboxState, tmp_path: Path
) -> None:
    first = cli(served, tmp_path, "--type", "events/page", "--max-pages", "1")
    first.communicate(timeout=60)
    assert first.returncode == 0
    # Hold the next answer, kill the process while its request is in flight; the tenant
    # moves the cursor once the delay is over, so the killed run's page is not lost.
    state.faults.push({"delay": 2.0}, count=1)
    process = cli(served, tmp_path, "--type", "events/page", "--until-caught-up")
    wait_for(lambda: checkpoint(tmp_path)["events/page"].get("in_flight") is not None)
    time.sleep(0.5)
    process.kill()
    process.communicate(timeout=10)
    assert checkpoint(tmp_path)["events/page"]["pages"] == 1
    time.sleep(2.0)  # the tenant finishes the killed request (and moves the cursor)
    restarted = cli(served, tmp_path, "--type", "events/page", "--until-caught-up")
    out, err = restarted.communicate(timeout=60)
    assert restarted.returncode == 0, err
    [stream] = json.loads(out)["streams"]
    assert stream["notes"] == ["recovered an uncommitted page (next) with resend"]
    assert positions(tmp_path / "out", "events/page") == list(range(2_500))


def test_the_client_side_limit_keeps_a_fast_ingest_from_ever_drawing_a_429(
    pack: Any, tmp_path: Path
) -> None:
    # Real time: ten back-to-back pages against the simulator's real 4/s limiter.
    state = SandboxState(token=CANARY, events_per_type=900, page_size=100, v2_rate_limit=True)
    transport = InProcessTransport(create_netskope_app(state))
    with Engine(
        pack,
        Config(env=settings_env("netskope_v2")),
        transports={"netskope_v2": transport},
    ) as engine:
        result = engine.invoke(
            "netskope.dataexport.ingest",
            ingest_inputs(tmp_path, streams=["events/page"], page_size=100),
        )
    transport.close()
    statuses = [entry["status"] for entry in state.logged_requests()]
    assert len(statuses) == 10 and set(statuses) == {200}
    assert result.data["streams"][0]["records"] == 900
