"""Hostile input outside the server: the Python API, the CLI, playbook inputs, YAML files.

Each reproducer of issue 17 ends in InputError (exit 3) naming the field, or a config
or playbook error (exit 4), with nothing sent: counted on the transport or the sandbox.
Files that once ran until killed are run in a subprocess with a generous hang guard.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from soarpack import errors, exitcodes
from soarpack.cli.main import main
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.playbook.expressions import compile_value
from soarpack.playbook.session import run_playbook
from soarpack.sandbox import SandboxState, create_netskope_app, start_server
from tests.conftest import CANARY, REPO, EngineFactory, settings_env
from tests.hostile.test_responses import bounded

ALERTS = "netskope.alerts.list"
# Far past any hang guard a healthy run needs, far short of "until killed".
HANG_GUARD_S = 60


class Counting(httpx.MockTransport):
    """Answers every request with an empty success, counting them."""

    def __init__(self) -> None:
        self.sent: list[httpx.Request] = []
        super().__init__(self._answer)

    def _answer(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return httpx.Response(200, json={"status": "success", "data": []})


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# -- the Python API -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "pointer", "rule"),
    [
        pytest.param({"timeperiod": 86400, "query": nested(900)}, "/query/0/0", "depth", id="deep"),
        pytest.param(
            {"timeperiod": 86400, "query": "\ud800"}, "/query", "encoding", id="surrogate"
        ),
        pytest.param({"timeperiod": 86400, "\udcff": 1}, "/\\udcff", "encoding", id="bad key"),
    ],
)
def test_the_python_api_refuses_data_no_json_could_carry(
    make_engine: EngineFactory, inputs: dict[str, Any], pointer: str, rule: str
) -> None:
    transport = Counting()
    engine = make_engine(transport)
    with pytest.raises(errors.InputError) as caught:
        bounded(lambda: engine.invoke(ALERTS, inputs))
    [problem] = caught.value.errors
    assert problem.pointer.startswith(pointer) and problem.rule == rule
    json.dumps(caught.value.to_dict(), ensure_ascii=False).encode("utf-8")
    assert transport.sent == []


def test_inputs_that_contain_themselves_are_refused(make_engine: EngineFactory) -> None:
    transport = Counting()
    looped: dict[str, Any] = {"timeperiod": 86400}
    looped["query"] = [looped]
    with pytest.raises(errors.InputError) as caught:
        bounded(lambda: make_engine(transport).invoke(ALERTS, looped))
    assert [p.rule for p in caught.value.errors] == ["depth"]
    assert transport.sent == []


def test_a_long_bad_value_is_quoted_in_200_characters_at_most(
    make_engine: EngineFactory,
) -> None:
    transport = Counting()
    engine = make_engine(transport)
    for inputs in ({"timeperiod": "9" * 50_000}, {"timeperiod": 86400, "query": "q" * 50_000}):
        with pytest.raises(errors.InputError) as caught:
            engine.invoke(ALERTS, inputs)
        for problem in caught.value.errors:
            assert len(problem.message) <= 300, problem.message[:400]
    assert transport.sent == []


def test_an_expression_error_quotes_a_long_value_briefly() -> None:
    template = compile_value("${{ abs(inputs.n) }}")
    with pytest.raises(errors.ExpressionError) as caught:
        template.render({"inputs": {"n": "x" * 50_000}})
    assert "function abs() got string" in str(caught.value)
    assert len(str(caught.value)) < 400


def test_playbook_inputs_are_checked_the_same_way(pack: Pack, tmp_path: Path) -> None:
    transports = {"netskope": Counting(), "lacework_edge": Counting()}
    env = {**settings_env("netskope"), **settings_env("lacework_edge")}
    inputs = {"lacework_user_uuid": nested(500), "lacework_alert_uuid": "\ud800"}
    engine = Engine(pack, Config(env=env), transports=transports)
    with engine, pytest.raises(errors.InputError) as caught:
        bounded(
            lambda: run_playbook(
                "cross-vendor-response", inputs, engine=engine, runs_dir_path=tmp_path
            )
        )
    rules = {(p.pointer.split("/")[1], p.rule) for p in caught.value.errors}
    assert rules == {("lacework_user_uuid", "depth"), ("lacework_alert_uuid", "encoding")}
    assert all(t.sent == [] for t in transports.values())
    assert not any(tmp_path.iterdir())  # no run was started


# -- the CLI --------------------------------------------------------------------------


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxState]:
    state = SandboxState(token=CANARY)
    with start_server(create_netskope_app(state)) as server:
        monkeypatch.setenv("SOARPACK_NETSKOPE_BASE_URL", server.base_url)
        monkeypatch.setenv("SOARPACK_NETSKOPE_TOKEN", CANARY)
        yield state


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = bounded(lambda: main(list(argv)))
    out, err = capsys.readouterr()
    assert "Traceback" not in err and CANARY not in out + err
    return code, json.loads(out) if out.strip() else {}, err


@pytest.mark.parametrize(
    ("text", "pointer", "rule"),
    [
        pytest.param(
            '{"timeperiod": 86400, "query": ' + deep_json(900) + "}", "/query/0", "depth", id="900"
        ),
        pytest.param(
            '{"timeperiod": 86400, "query": ' + deep_json(30_000) + "}",
            "/query/0",
            "depth",
            id="30,000",
        ),
        pytest.param('{"timeperiod": 86400, "query": "\\ud800"}', "/query", "encoding", id="esc"),
        # A byte that is not UTF-8 in argv arrives as a lone surrogate (surrogateescape).
        pytest.param('{"timeperiod": 86400, "query": "\udcff"}', "/query", "encoding", id="raw"),
        pytest.param(
            '{"timeperiod": 86400, "limit": 1, "limit": 9}', "/limit", "duplicate", id="dup"
        ),
        pytest.param(
            '{"timeperiod": 86400, "x": {"a": 1, "a": 1}}', "/x/a", "duplicate", id="dup2"
        ),
    ],
)
def test_cli_input_is_refused_with_exit_3_naming_the_field(
    capsys: pytest.CaptureFixture[str], sandbox: SandboxState, text: str, pointer: str, rule: str
) -> None:
    code, out, err = cli(capsys, "invoke", ALERTS, "--input", text)
    assert code == exitcodes.BAD_INPUT
    [problem] = out["error"]["errors"]
    assert problem["pointer"].startswith(pointer) and problem["rule"] == rule
    assert "Invalid input" in err
    assert sandbox.logged_requests() == []


def test_an_input_file_with_repeated_keys_is_exit_3(
    capsys: pytest.CaptureFixture[str], sandbox: SandboxState, tmp_path: Path
) -> None:
    path = tmp_path / "in.json"
    path.write_text('{"timeperiod": 86400, "timeperiod": 3600}', encoding="utf-8")
    code, out, _ = cli(capsys, "invoke", ALERTS, "--input-file", str(path))
    assert code == exitcodes.BAD_INPUT
    assert [p["pointer"] for p in out["error"]["errors"]] == ["/timeperiod"]
    assert sandbox.logged_requests() == []


@pytest.mark.parametrize(
    ("argv", "pointer"),
    [
        # An input the playbook does not declare a string: its VALUE is read as JSON.
        pytest.param(["--input", 'extra={"a": 1, "a": 2}'], "/extra/a", id="--input KEY=JSON"),
        pytest.param(["--input", f"extra={deep_json(200)}"], "/extra/0", id="--input deep"),
        pytest.param(["--input-file", "{file}"], "/lacework_user_uuid", id="--input-file"),
    ],
)
def test_playbook_run_inputs_are_refused_with_exit_3(
    capsys: pytest.CaptureFixture[str],
    sandbox: SandboxState,
    tmp_path: Path,
    argv: list[str],
    pointer: str,
) -> None:
    path = tmp_path / "in.json"
    path.write_text('{"lacework_user_uuid": "u", "lacework_user_uuid": "v"}', encoding="utf-8")
    argv = [a.replace("{file}", str(path)) for a in argv]
    runs = tmp_path / "runs"
    code, _, err = cli(capsys, "run", "cross-vendor-response", *argv, "--runs-dir", str(runs))
    assert code == exitcodes.BAD_INPUT, err
    assert pointer in err
    assert sandbox.logged_requests() == []
    assert not runs.exists() or not any(runs.iterdir())


# -- YAML files -----------------------------------------------------------------------

# 1.3 KB standing for 9**9 (387 million) strings.
ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{', '.join(f'*{prev}' for _ in range(9))}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
    ]
)


def soarpack(*argv: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(REPO),
        "SOARPACK_STATE_DIR": str(tmp_path / "state"),
        "SOARPACK_NETSKOPE_BASE_URL": "http://127.0.0.1:9",
        "SOARPACK_NETSKOPE_TOKEN": CANARY,
    }
    return subprocess.run(
        [sys.executable, "-m", "soarpack", *argv],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_S,
    )


def test_the_bomb_is_a_real_one() -> None:
    assert len(ALIAS_BOMB) < 1400 and ALIAS_BOMB.count("*") == 72


def test_validate_refuses_an_alias_bomb_playbook(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(f"name: bomb\ndescription: x\nsteps: []\n{ALIAS_BOMB}\n", encoding="utf-8")
    done = soarpack("validate", str(path), tmp_path=tmp_path)
    assert done.returncode == exitcodes.CONFIG, done.stderr
    assert "aliases are not accepted" in done.stdout
    assert f"{path}:" in done.stdout and "Traceback" not in done.stderr


def test_a_config_file_alias_bomb_exits_4(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"connections:\n  netskope: {{}}\n{ALIAS_BOMB}\n", encoding="utf-8")
    done = soarpack(
        "--config",
        str(path),
        "invoke",
        ALERTS,
        "--input",
        '{"timeperiod": 3600}',
        tmp_path=tmp_path,
    )
    assert done.returncode == exitcodes.CONFIG, done.stderr
    assert "aliases are not accepted" in done.stderr
    assert "Traceback" not in done.stderr
    # In process too, within the hang guard.
    with pytest.raises(errors.ConfigError, match="not valid YAML"):
        bounded(lambda: Config(path))


def test_an_alias_bomb_openapi_file_is_exit_4(tmp_path: Path) -> None:
    path = tmp_path / "openapi.yaml"
    path.write_text(f"openapi: 3.1.0\npaths: {{}}\n{ALIAS_BOMB}\n", encoding="utf-8")
    done = soarpack("lacework-edge", "bind-spec", "--dry-run", str(path), tmp_path=tmp_path)
    assert done.returncode == exitcodes.CONFIG, done.stderr
    assert "aliases are not accepted" in done.stderr and "no &anchor/*alias" in done.stderr
    assert f"{path}" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("text", "said"),
    [
        pytest.param("name: x\nsteps: []\npad: '" + "x" * (1024 * 1024) + "'\n", "larger than"),
        pytest.param("name: x\nsteps: " + deep_json(100) + "\n", "nested deeper than 64"),
        pytest.param("name: x\n<<: {steps: []}\nmore: &m {a: 1}\nalso: *m\n", "aliases"),
    ],
    ids=["over 1 MiB", "100 deep", "one alias"],
)
def test_playbooks_and_configs_are_bounded(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str, said: str
) -> None:
    path = tmp_path / "book.yaml"
    path.write_text(text, encoding="utf-8")
    code = bounded(lambda: main(["validate", str(path)]))
    out, _ = capsys.readouterr()
    assert code == exitcodes.CONFIG and said in out
    with pytest.raises(errors.ConfigError, match=said):
        bounded(lambda: Config(path))
