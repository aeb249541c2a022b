"""The `soarpack` command: output streams, exit codes, and no tracebacks."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from soarpack import exitcodes
from soarpack.cli.main import main
from soarpack.sandbox import SandboxState, create_netskope_app, start_server
from tests.conftest import CANARY, REPO


class Sandbox:
    def __init__(self, state: SandboxState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    state = SandboxState(token=CANARY, client_count=60, alert_count=120)
    with start_server(create_netskope_app(state)) as server:
        monkeypatch.setenv("SOARPACK_NETSKOPE_BASE_URL", server.base_url)
        monkeypatch.setenv("SOARPACK_NETSKOPE_TOKEN", CANARY)
        monkeypatch.setenv("SOARPACK_NETSKOPE_MAX_ATTEMPTS", "2")
        yield Sandbox(state, server.base_url)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert CANARY not in out and CANARY not in err
    assert "Traceback" not in err
    return code, out, err


def test_actions_list_json_has_the_v1_actions_with_schemas(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "actions", "list", "--json")
    entries = {e["name"]: e for e in json.loads(out)}
    assert code == 0
    for name in ("netskope.clients.list", "netskope.alerts.list", "netskope.alerts.report"):
        entry = entries[name]
        assert entry["side_effect"] == "read" and entry["connection"] == "netskope"
        assert entry["input"]["type"] == "object" and entry["output"]["type"] == "object"
    assert entries["netskope.alerts.list"]["input"]["properties"]["limit"]["maximum"] == 9999


def test_actions_list_filters_by_semantic_type(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "actions", "list", "--accepts", "email", "--json")
    assert sorted(e["name"] for e in json.loads(out)) == [
        "netskope.alerts.list",
        "netskope.clients.list",
    ]
    _, out, _ = run(capsys, "actions", "list", "--produces", "hostname")
    assert "netskope.clients.list" in out and "netskope.alerts.list" not in out


def test_actions_describe_is_generated_from_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "actions", "describe", "netskope.alerts.list")
    assert code == 0
    assert "limit  (optional, integer, default 1000, >= 1, <= 9999)" in out
    assert "rule: Give exactly one time window" in out
    assert "soarpack invoke netskope.alerts.list --input" in out


def test_unknown_action_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "actions", "describe", "netskope.alert.list")
    assert code == exitcodes.CONFIG and "Did you mean: netskope.alerts.list" in err


def test_both_time_windows_exit_bad_input_naming_both_and_send_nothing(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> None:
    code, out, err = run(
        capsys,
        "invoke",
        "netskope.alerts.list",
        "--input",
        '{"timeperiod": 86400, "starttime": 1700000000}',
    )
    assert code == exitcodes.BAD_INPUT
    pointers = [e["pointer"] for e in json.loads(out)["error"]["errors"]]
    assert pointers == ["/starttime", "/timeperiod"]
    assert "/starttime" in err and "/timeperiod" in err
    assert sandbox.state.logged_requests() == []


def test_invoke_prints_the_result_json(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> None:
    code, out, _ = run(
        capsys, "invoke", "netskope.alerts.list", "--input", '{"timeperiod": 7776000, "limit": 3}'
    )
    result = json.loads(out)
    assert code == 0 and result["ok"] is True and result["data"]["count"] == 3
    assert result["meta"]["http_calls"][0]["status"] == 200
    assert (
        result["meta"]["http_calls"][0]["url"]
        == f"{sandbox.base_url}/api/v1/alerts?timeperiod=7776000&limit=3&skip=0"
    )


def test_invoke_reads_stdin(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"limit": 2}')))
    code, out, _ = run(capsys, "invoke", "netskope.clients.list", "--input-file", "-")
    assert code == 0 and json.loads(out)["data"]["count"] == 2


def test_invoke_reads_an_input_file(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "in.json"
    path.write_text('{"groupby": "user", "timeperiod": 2592000}')
    code, out, _ = run(capsys, "invoke", "netskope.alerts.report", "--input-file", str(path))
    assert code == 0 and json.loads(out)["data"]["rows"]


def test_invalid_json_input(capsys: pytest.CaptureFixture[str], sandbox: Sandbox) -> None:
    code, _, err = run(capsys, "invoke", "netskope.clients.list", "--input", "{limit: 2}")
    assert code == exitcodes.BAD_INPUT and "--input is not valid JSON" in err
    assert sandbox.state.logged_requests() == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        pytest.param("[1, 2]", "must be a JSON object", id="array"),
        pytest.param("null", "must be a JSON object", id="null"),
        pytest.param('{"limit": 2.0}', "not of type integer", id="float-for-integer"),
        pytest.param('{"limit": true}', "not of type integer", id="bool-for-integer"),
    ],
)
def test_inputs_of_the_wrong_shape_send_nothing(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, text: str, rule: str
) -> None:
    code, out, err = run(capsys, "invoke", "netskope.clients.list", "--input", text)
    assert code == exitcodes.BAD_INPUT and rule in err, err
    assert json.loads(out)["error"]["kind"] == "invalid_input"
    assert sandbox.state.logged_requests() == []


def test_input_file_that_is_not_utf8(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "in.json"
    path.write_bytes(b'{"username": "j\xe9r\xf4me"}')
    code, _, err = run(capsys, "invoke", "netskope.clients.list", "--input-file", str(path))
    assert code == exitcodes.BAD_INPUT and "is not UTF-8" in err
    assert sandbox.state.logged_requests() == []


def test_stdin_is_not_read_unless_asked(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A SOAR platform may leave stdin open and empty: invoke must not wait on it.
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b'{"limit": "x"}')))
    code, out, _ = run(capsys, "invoke", "netskope.clients.list")
    assert code == 0 and json.loads(out)["ok"] is True


def test_compact_error_json_is_one_line(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox
) -> None:
    code, out, _ = run(
        capsys, "invoke", "netskope.clients.list", "--compact", "--input", '{"limit": 0}'
    )
    assert code == exitcodes.BAD_INPUT and out.count("\n") == 1
    assert json.loads(out)["error"]["errors"][0]["pointer"] == "/limit"


@pytest.mark.parametrize(
    "proxy",
    [
        pytest.param("socks5://127.0.0.1:1080", id="socks"),
        pytest.param("http://proxy:notaport", id="bad-port"),
    ],
)
def test_unusable_proxy_is_a_config_error(
    capsys: pytest.CaptureFixture[str],
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    proxy: str,
) -> None:
    monkeypatch.setenv("SOARPACK_NETSKOPE_PROXY", proxy)
    code, _, err = run(capsys, "invoke", "netskope.clients.list")
    assert code == exitcodes.CONFIG and "proxy" in err
    assert sandbox.state.logged_requests() == []


def test_sandbox_serve_on_a_busy_port_is_a_config_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "sandbox", "serve", "--port", str(port))
    assert code == exitcodes.CONFIG and f"127.0.0.1:{port}" in err


def test_sandbox_serve_rejects_an_impossible_port(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["sandbox", "serve", "--port", "70000"])
    assert exited.value.code == exitcodes.USAGE and "outside 0..65535" in capsys.readouterr().err


def test_missing_settings_exit_config(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "invoke", "netskope.clients.list", "--input", "{}")
    assert (
        code == exitcodes.CONFIG and "base_url: is required" in err and "SOARPACK_NETSKOPE_" in err
    )


def test_wrong_token_exits_auth(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOARPACK_NETSKOPE_TOKEN", "wrong-token-123")
    code, out, err = run(capsys, "invoke", "netskope.clients.list", "--input", "{}")
    assert code == exitcodes.AUTH and "Invalid token" in err
    assert json.loads(out)["error"]["status"] == 403


def test_vendor_error_exits_vendor(capsys: pytest.CaptureFixture[str], sandbox: Sandbox) -> None:
    code, _, err = run(
        capsys, "invoke", "netskope.clients.list", "--input", '{"query": "host_info.os eq"}'
    )
    assert code == exitcodes.VENDOR and "netskope reported a failure" in err


def test_rate_limited_after_retries(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOARPACK_NETSKOPE_MAX_ATTEMPTS", "1")
    sandbox.state.faults.push({"status": 429, "retry_after": 1})
    code, out, _ = run(capsys, "invoke", "netskope.clients.list", "--input", "{}")
    assert code == exitcodes.RATE_LIMITED and json.loads(out)["error"]["retry_after"] == 1.0


def test_server_error_exits_vendor(capsys: pytest.CaptureFixture[str], sandbox: Sandbox) -> None:
    sandbox.state.faults.push({"status": 500})
    code, _, err = run(capsys, "invoke", "netskope.clients.list", "--input", "{}")
    assert code == exitcodes.VENDOR and "500" in err


def test_refused_connection_exits_network(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    monkeypatch.setenv("SOARPACK_NETSKOPE_BASE_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("SOARPACK_NETSKOPE_TOKEN", CANARY)
    monkeypatch.setenv("SOARPACK_NETSKOPE_MAX_ATTEMPTS", "1")
    code, out, err = run(capsys, "invoke", "netskope.clients.list", "--input", "{}")
    assert code == exitcodes.NETWORK and "refused" in err
    assert json.loads(out)["error"]["reason"] == "refused"


def test_plain_http_to_a_remote_host_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOARPACK_NETSKOPE_BASE_URL", "http://tenant.goskope.com")
    monkeypatch.setenv("SOARPACK_NETSKOPE_TOKEN", CANARY)
    code, _, err = run(capsys, "invoke", "netskope.clients.list", "--input", "{}")
    assert code == exitcodes.CONFIG and "must use https" in err


def test_connections_test(
    capsys: pytest.CaptureFixture[str], sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(capsys, "connections", "test", "netskope")
    assert code == 0 and "netskope: ok: reachable and authenticated" in out
    monkeypatch.setenv("SOARPACK_NETSKOPE_TOKEN", "wrong-token-123")
    code, out, _ = run(capsys, "connections", "test", "netskope")
    assert code == exitcodes.AUTH and "FAILED: authentication" in out


def test_validate_the_shipped_pack(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "validate")
    assert code == 0 and out.strip() == "pack is valid"


def _pack_with_handler(tmp_path: Path, body: str) -> Path:
    root = tmp_path / "pack"
    for part in ("schemas", "actions", "playbooks"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "manifest.yaml", root / "manifest.yaml")
    (root / "actions" / "netskope" / "client_status.py").write_text(body)
    return root


def test_broken_pack_validate_lists_problems(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root = _pack_with_handler(tmp_path, "def something_else(session, inputs):\n    return {}\n")
    code, out, _ = run(capsys, "--pack", str(root), "validate")
    assert code == exitcodes.CONFIG
    assert (
        "actions.netskope.client_status.status.handler: netskope/client_status.py has no function status"
        in out
    )


def _subprocess(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "soarpack", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_handler_bug_shows_no_traceback_without_debug(tmp_path: Path, sandbox: Sandbox) -> None:
    root = _pack_with_handler(
        tmp_path,
        "def status(session, inputs):\n    raise ValueError('oops ' + 'x')\n",
    )
    env: dict[str, Any] = {
        "PATH": "/usr/bin:/bin",
        "SOARPACK_STATE_DIR": str(tmp_path / "state"),  # its rate-limit windows
        "SOARPACK_NETSKOPE_V2_BASE_URL": sandbox.base_url,
        "SOARPACK_NETSKOPE_V2_TOKEN": CANARY,
    }
    status = ("invoke", "netskope.client_status.status", "--input", '{"index": "soar-cs"}')
    done = _subprocess("--pack", str(root), *status, env=env)
    assert done.returncode == exitcodes.INTERNAL
    assert "Traceback" not in done.stderr and "internal error" in done.stderr
    debug = _subprocess("--pack", str(root), "--debug", *status, env=env)
    assert debug.returncode == exitcodes.INTERNAL and "ValueError: oops x" in debug.stderr
    assert CANARY not in debug.stderr + debug.stdout + done.stderr + done.stdout


def test_usage_errors_exit_2() -> None:
    done = _subprocess("invoke")
    assert done.returncode == exitcodes.USAGE and "Traceback" not in done.stderr


def test_help_documents_exit_codes() -> None:
    done = _subprocess("--help")
    assert done.returncode == 0
    for code, text in exitcodes.DESCRIPTIONS.items():
        assert f"{code:>2}  {text}" in done.stdout


def test_demo_command_runs_to_completion() -> None:
    done = _subprocess("demo", env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert "Done: " in done.stdout and "requests that reached the tenant: 0" in done.stdout
    assert "[429 200]" in done.stdout and "Traceback" not in done.stderr
