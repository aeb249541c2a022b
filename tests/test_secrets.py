"""Secrets never leave the process: a canary token is searched for in every output."""

from __future__ import annotations

import base64
import io
import logging
from urllib.parse import quote

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.cli.main import main
from soarpack.config import Config
from soarpack.demo import run_demo
from soarpack.engine import ActionResult
from soarpack.http.client import CallRecord
from soarpack.pack import Pack
from soarpack.redact import MASK, RedactingFormatter, redact, redact_data, register_secret
from tests.conftest import CANARY, EngineFactory, transport_for

FORMS = [CANARY, quote(CANARY, safe=""), base64.b64encode(CANARY.encode()).decode().rstrip("=")]


def assert_clean(text: str) -> None:
    for form in FORMS:
        assert form not in text, f"secret leaked as {form!r}"


@pytest.mark.parametrize("form", FORMS, ids=["raw", "urlquoted", "base64"])
def test_each_form_of_a_secret_is_masked(form: str) -> None:
    register_secret(CANARY)
    assert redact(f"before {form} after") == f"before {MASK} after"


def test_demo_output_and_logs_carry_no_token(caplog: pytest.LogCaptureFixture) -> None:
    out = io.StringIO()
    with caplog.at_level(logging.DEBUG, logger="soarpack"):
        assert run_demo(token=CANARY, out=out) == 0
    assert "Done: " in out.getvalue()
    assert_clean(out.getvalue())
    assert_clean("\n".join(r.getMessage() for r in caplog.records))


def test_debug_cli_run_logs_no_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from soarpack.sandbox import SandboxState, create_netskope_app, start_server

    state = SandboxState(token=CANARY, client_count=20, alert_count=20)
    with start_server(create_netskope_app(state)) as server:
        monkeypatch.setenv("SOARPACK_NETSKOPE_BASE_URL", server.base_url)
        monkeypatch.setenv("SOARPACK_NETSKOPE_TOKEN", CANARY)
        state.faults.push({"status": 429, "retry_after": 0})
        assert main(["--debug", "invoke", "netskope.clients.list", "--input", '{"limit": 1}']) == 0
        monkeypatch.setenv("SOARPACK_NETSKOPE_TOKEN", CANARY + "-wrong")
        assert main(["--debug", "invoke", "netskope.clients.list", "--input", "{}"]) == 5
    out, err = capsys.readouterr()
    assert "-> 429" in err and "-> 200" in err  # the HTTP log lines are there...
    assert_clean(out + err)  # ...without the token (nor the wrong one, which contains it)


def test_results_and_records_are_redacted() -> None:
    register_secret(CANARY)
    result = ActionResult(
        "x.y.z",
        {"echo": CANARY, "nested": [{CANARY: 1}]},
        1.0,
        [CallRecord("GET", f"https://h/?token={CANARY}", 200, 1.0, 1)],
    )
    assert_clean(str(result.to_dict()))


def test_settings_repr_hides_secrets(pack: Pack) -> None:
    env = {"SOARPACK_NETSKOPE_BASE_URL": "https://t.goskope.com", "SOARPACK_NETSKOPE_TOKEN": CANARY}
    settings = Config(env=env).settings(pack.connection("netskope"), pack.schemas)
    assert_clean(repr(settings))
    assert_clean(str(settings))


def test_log_formatter_masks_messages_and_tracebacks() -> None:
    register_secret(CANARY)
    formatter = RedactingFormatter("%(message)s")
    try:
        raise RuntimeError(f"failed with {CANARY}")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "soarpack", logging.ERROR, __file__, 1, "token %s", (CANARY,), sys.exc_info()
        )
    assert_clean(formatter.format(record))


def test_every_error_class_redacts(make_engine: EngineFactory) -> None:
    register_secret(CANARY)
    for cls in (
        errors.CallError,
        errors.AuthenticationError,
        errors.VendorError,
        errors.ServerError,
    ):
        error = cls(f"vendor said {CANARY}", vendor_message=CANARY, url=f"https://h/?t={CANARY}")
        assert_clean(str(error) + repr(error) + str(error.to_dict()))
    assert_clean(str(redact_data({"k": [CANARY]})))


def test_vendor_echoing_the_token_is_masked(make_engine: EngineFactory) -> None:
    router = respx.Router(assert_all_called=True)
    router.route().mock(
        return_value=httpx.Response(
            200, json={"status": "error", "errors": [f"token {CANARY} is invalid token"]}
        )
    )
    with pytest.raises(errors.AuthenticationError) as caught:
        make_engine(transport_for(router)).invoke("netskope.clients.list", {})
    assert_clean(str(caught.value) + str(caught.value.to_dict()))
