"""`soarpack serve` and `soarpack server new-key`: refusals, and a graceful SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from soarpack import exitcodes
from soarpack.cli.main import main
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.server.auth import hash_key
from tests.conftest import CANARY, REPO
from tests.server.conftest import sandbox_env

KEY = "spk_test-key-for-the-serve-command-0123456789"


def write_config(tmp_path: Path, server: dict[str, object]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"server": server}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("0.0.0.0", id="all interfaces"),
        pytest.param("192.0.2.10", id="a LAN address"),
        pytest.param("example.com", id="a name"),
    ],
)
def test_anonymous_access_is_refused_off_loopback(
    capsys: pytest.CaptureFixture[str], host: str
) -> None:
    code = main(["serve", "--host", host, "--port", "0", "--allow-anonymous"])
    err = capsys.readouterr().err
    assert code == exitcodes.CONFIG
    assert "--allow-anonymous needs a loopback host" in err


def test_serving_without_keys_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, {"keys": []})
    code = main(["serve", "--port", "0", "--config", str(config)])
    assert code == exitcodes.CONFIG
    assert "No API keys are configured" in capsys.readouterr().err


def test_a_bad_server_section_exits_config(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    config = write_config(tmp_path, {"keys": [{"id": "k", "sha256": "nope"}]})
    code = main(["--config", str(config), "serve", "--port", "0"])
    assert code == exitcodes.CONFIG
    assert "server.keys.0.sha256" in capsys.readouterr().err


def test_a_busy_port_exits_config(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code = main(["serve", "--port", str(port), "--allow-anonymous"])
    assert code == exitcodes.CONFIG
    assert f"Cannot serve on 127.0.0.1:{port}" in capsys.readouterr().err


def test_new_key_prints_the_key_and_its_hash_once(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["server", "new-key", "--id", "shuffle"]) == exitcodes.OK
    captured = capsys.readouterr()
    key, digest_line = captured.out.splitlines()
    assert key.startswith("spk_")
    assert digest_line == f"sha256: {hash_key(key)}"
    assert "id: shuffle" in captured.err
    assert key not in captured.err


@pytest.fixture
def tenant() -> Iterator[tuple[SandboxState, str]]:
    state = SandboxState(token=CANARY)
    with start_server(create_sandbox_app(state)) as server:
        yield state, server.base_url


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)


@pytest.mark.slow
def test_sigterm_lets_the_call_in_flight_finish(
    tmp_path: Path, tenant: tuple[SandboxState, str]
) -> None:
    state, base_url = tenant
    with serving(tmp_path, base_url) as served:
        assert served.url.startswith("http://127.0.0.1:")
        state.faults.push({"delay": 2.5})
        answers: list[httpx.Response] = []
        headers = {"Authorization": f"Bearer {KEY}"}

        def slow_call() -> None:
            answers.append(
                httpx.post(
                    f"{served.url}/actions/netskope.alerts.list",
                    json={"timeperiod": 86400, "limit": 1},
                    headers=headers,
                    timeout=30,
                )
            )

        caller = threading.Thread(target=slow_call)
        caller.start()
        time.sleep(1.0)  # the call is now waiting on the slow vendor
        served.process.send_signal(signal.SIGTERM)
        caller.join(30)
        assert served.process.wait(30) == 0
    [answer] = answers
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["count"] == 1
    text = served.rest()
    assert "soarpack server stopped" in text
    assert '"status":200' in text  # the access log line of the call
    assert KEY not in text and CANARY not in text


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    lines: queue.Queue[str]  # the server's stderr, line by line

    def rest(self) -> str:
        """What the server printed after its "listening" line, once it has stopped."""
        found = []
        while not self.lines.empty():
            found.append(self.lines.get())
        return "".join(found)


@contextmanager
def serving(tmp_path: Path, base_url: str, **server: object) -> Iterator[Served]:
    """A real `soarpack serve` on 127.0.0.1 (a free port), stopped with SIGTERM at the end."""
    config = write_config(
        tmp_path,
        {
            "keys": [{"id": "ci", "sha256": hash_key(KEY)}],
            "runs_dir": str(tmp_path / "runs"),
            **server,
        },
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SOARPACK_STATE_DIR": str(tmp_path / "state"),
        **sandbox_env(base_url),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "soarpack", "--config", str(config), "serve", "--port", "0"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True)
    reader.start()
    try:
        url = ""
        while not url:
            line = lines.get(timeout=30)
            if line.startswith("soarpack server listening on "):
                url = line.split(" on ", 1)[1].strip()
        yield Served(url, process, lines)
    finally:
        if process.poll() is None:
            process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(10)
        assert process.stderr is not None
        process.stderr.close()


def _closed_by_server(sock: socket.socket, dribble: bytes) -> tuple[bool, bytes]:
    """Send `dribble` a byte every 0.25 s (then nothing): whether the server closed the
    connection within 20 s, and what it sent before."""
    sock.settimeout(0.25)
    deadline = time.monotonic() + 20
    sent, received = 0, b""
    while time.monotonic() < deadline:
        try:
            if sent < len(dribble):
                sock.sendall(dribble[sent : sent + 1])
                sent += 1
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True, received
        if not chunk:
            return True, received
        received += chunk
    return False, received


@pytest.mark.slow
def test_connections_with_incomplete_headers_are_closed(
    tmp_path: Path, tenant: tuple[SandboxState, str]
) -> None:
    state, base_url = tenant
    with serving(tmp_path, base_url, header_timeout=1) as served:
        host, port = served.url.removeprefix("http://").split(":")
        partial = [
            b"",  # connects and sends nothing
            b"POST /actions/netskope.alerts.list HT",  # half a request line
            # headers a byte at a time, never finished (far past the deadline)
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200,
        ]
        for dribble in partial:
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                assert _closed_by_server(sock, dribble) == (True, b""), dribble
        # Answered at once (healthz reads no body), then the body never ends: closed too.
        unread = b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n" + b"a" * 500
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(unread[:60])
            closed, received = _closed_by_server(sock, unread[60:])
        assert closed and received.startswith(b"HTTP/1.1 200"), received
        # The server still answers a whole request, and sent nothing to the vendor.
        assert httpx.get(f"{served.url}/healthz", timeout=10).status_code == 200
    assert state.logged_requests() == []
