"""MetaAccess forces the token into the URL: it must not show anywhere we write to.

Checked with a configured token and with one obtained through OAuth, over real
loopback HTTP: recorded URLs, errors (str, repr, to_dict), results, CLI stdout and
stderr (with --debug), and log records of every logger, httpx's included."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from soarpack import errors
from soarpack.cli.main import main
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.metaaccess.state import METAACCESS_CLIENT_ID
from tests.conftest import CANARY
from tests.metaaccess.helpers import ACTION

PREFIX = "SOARPACK_METAACCESS_"


class Served:
    def __init__(self, state: SandboxState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url

    def secrets(self) -> list[str]:
        return [CANARY, *self.state.metaaccess.issued_tokens()]

    def assert_clean(self, text: str) -> None:
        for secret in self.secrets():
            assert secret not in text, "a token leaked"


@pytest.fixture
def served() -> Iterator[Served]:
    state = SandboxState(token=CANARY, client_count=10, alert_count=10)
    state.metaaccess.rate_limit = False
    with start_server(create_sandbox_app(state)) as server:
        yield Served(state, f"{server.base_url}/metaaccess")


def oauth_env(served: Served) -> dict[str, str]:
    return {
        f"{PREFIX}BASE_URL": served.base_url,
        f"{PREFIX}CLIENT_ID": METAACCESS_CLIENT_ID,
        f"{PREFIX}CLIENT_SECRET": CANARY,
        f"{PREFIX}MAX_ATTEMPTS": "2",
    }


def static_env(served: Served, token: str = CANARY) -> dict[str, str]:
    return {
        f"{PREFIX}BASE_URL": served.base_url,
        f"{PREFIX}ACCESS_TOKEN": token,
        f"{PREFIX}MAX_ATTEMPTS": "2",
    }


@pytest.mark.parametrize("how", ["static", "oauth"])
def test_results_and_logs_carry_no_token(
    pack: Pack, served: Served, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    env = static_env(served) if how == "static" else oauth_env(served)
    with caplog.at_level(logging.DEBUG), Engine(pack, Config(env=env)) as engine:
        result = engine.invoke(ACTION, {"all_pages": True, "limit": 50})
        engine.invoke("metaaccess.connection.test", {})
    assert len(served.secrets()) == (1 if how == "static" else 2)
    urls = [c.url for c in result.calls if "status_changed" in c.url]
    assert urls and all(u.endswith("status_changed?access_token=***") for u in urls)
    served.assert_clean(str(result.to_dict()) + repr(result) + json.dumps(result.to_dict()))
    logged = caplog.text
    # soarpack.http logs each request's URL at DEBUG: it is there, with the token masked.
    assert "/status_changed?access_token=*** -> 200" in logged
    served.assert_clean(logged)
    served.assert_clean(str(served.state.logged_requests()))


@pytest.mark.parametrize("how", ["static", "oauth"])
def test_errors_carry_no_token(pack: Pack, served: Served, how: str) -> None:
    env = static_env(served) if how == "static" else oauth_env(served)
    with Engine(pack, Config(env=env)) as engine, pytest.raises(errors.ServerError) as caught:
        engine.invoke("metaaccess.connection.test", {})  # obtains the token (oauth)
        served.state.metaaccess.faults.push({"status": 500})
        engine.invoke(ACTION, {})
    error = caught.value
    assert error.url is not None and error.url.endswith("?access_token=***")
    served.assert_clean(str(error) + repr(error) + json.dumps(error.to_dict()))


def test_cli_debug_output_carries_no_token(
    served: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in oauth_env(served).items():
        monkeypatch.setenv(name, value)
    served.state.metaaccess.faults.push({"status": 429, "retry_after": 0})
    code = main(["--debug", "invoke", ACTION, "--input", '{"all_pages": true, "limit": 50}'])
    out, err = capsys.readouterr()
    assert code == 0 and json.loads(out)["data"]["paging"]["end_reached"] is True
    assert "-> 429" in err and "access_token=***" in err  # the debug log shows the URLs
    served.assert_clean(out + err)


def test_cli_auth_failure_carries_no_token(
    served: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = CANARY + "-wrong"
    for name, value in static_env(served, wrong).items():
        monkeypatch.setenv(name, value)
    code = main(["--debug", "invoke", ACTION, "--input", "{}"])
    out, err = capsys.readouterr()
    assert code == 5
    shown = json.loads(out)["error"]
    assert shown["kind"] == "auth" and shown["url"].endswith("?access_token=***")
    assert wrong not in out + err
    served.assert_clean(out + err)


def test_cli_connection_test(
    served: Served, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in oauth_env(served).items():
        monkeypatch.setenv(name, value)
    assert main(["connections", "test", "metaaccess"]) == 0
    monkeypatch.setenv(f"{PREFIX}CLIENT_SECRET", CANARY + "-wrong")
    assert main(["connections", "test", "metaaccess"]) == 5
    out, err = capsys.readouterr()
    assert "metaaccess: ok: reachable and authenticated" in out
    assert "metaaccess: FAILED: authentication" in out and "client_secret" in out
    served.assert_clean(out + err)
