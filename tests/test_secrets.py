"""Secrets never leave the process: a canary token is searched for in every output."""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import random
from urllib.parse import quote, quote_plus

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.cli.demo import run_demo
from soarpack.cli.main import main
from soarpack.config import Config
from soarpack.engine import ActionResult
from soarpack.http.invocation import CallRecord
from soarpack.pack import Pack
from soarpack.redact import MASK, RedactingFormatter, redact, redact_data, register_secret
from soarpack.sandbox.shared.echo import echoed_forms
from tests.conftest import CANARY, EngineFactory, transport_for
from tests.lacework_edge.helpers import BASE, JWT, lacework_engine, login_route
from tests.secret_search import leaks

FORMS = [CANARY, quote(CANARY, safe=""), base64.b64encode(CANARY.encode()).decode().rstrip("=")]


def assert_clean(text: str) -> None:
    for form in FORMS:
        assert form not in text, f"secret leaked as {form!r}"


@pytest.mark.parametrize("form", FORMS, ids=["raw", "urlquoted", "base64"])
def test_each_form_of_a_secret_is_masked(form: str) -> None:
    register_secret(CANARY)
    assert redact(f"before {form} after") == f"before {MASK} after"


# A secret with the characters encoders escape: `+`, `/`, `=` and `-`.
ESCAPED = "CANARY+tok/7f3a=9c1e-5b"


def _split(text: str, at: int, gap: str = "\r\n    ") -> str:
    return text[:at] + gap + text[at:]


def _echoes(secret: str) -> dict[str, str]:
    """The forms issue 17 saw vendors echo, each written out by hand (not by the redactor)."""
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    return {
        **echoed_forms(secret),
        "quote_plus": quote_plus(secret),
        "double quote_plus": quote_plus(quote_plus(secret)),
        "html named": html.escape(secret).replace("+", "&plus;").replace("/", "&sol;"),
        "html zero-padded numeric": "".join(
            c if c.isalnum() else f"&#{ord(c):04d};" for c in secret
        ),
        "json slash": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "json unicode": "".join(c if c.isalnum() else f"\\u{ord(c):04X}" for c in secret),
        "mixed case": "".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(secret)),
        "split at every position": "\n".join(secret),
        "split with tabs": _split(secret, 3, " \t\n\t "),
        "split in raw JSON": _split(secret, 5, "\\n  "),
        "split lowercased and encoded": _split(quote(secret.lower(), safe=""), 4, "\n"),
        "base64 wrapped at 4": "\n".join(b64[i : i + 4] for i in range(0, len(b64), 4)),
        "basic credentials, 1-char user": base64.b64encode(b"a:" + raw).decode(),
        "basic credentials, 2-char user": base64.b64encode(b"ab:" + raw).decode(),
        "base64 inside a longer text": base64.b64encode(b'{"token": "' + raw + b'"}').decode(),
        "hex with a break": _split(raw.hex().upper(), 10, "\n"),
    }


def _leaked(secret: str, text: str) -> list[str]:
    return leaks(secret, text)


@pytest.mark.parametrize("secret", [CANARY, ESCAPED], ids=["plain", "escaped"])
@pytest.mark.parametrize("name", sorted(_echoes(ESCAPED)))
def test_every_echoed_form_is_masked(secret: str, name: str) -> None:
    register_secret(secret)
    echoed = _echoes(secret)[name]
    assert _leaked(secret, echoed), "the check itself finds the form before redaction"
    shown = redact(f"vendor said: {echoed}.")
    assert _leaked(secret, shown) == [], shown
    assert shown.startswith("vendor said: ") and MASK in shown


def test_text_without_a_secret_is_left_alone() -> None:
    register_secret(ESCAPED)
    register_secret(CANARY)
    for text in [
        "canary tok 7f3a 9c1e",
        "CANARY+tok/7f3a",  # a prefix of a secret is not the secret
        "GET https://h/api/v1/alerts?timeperiod=3600&limit=10 %2B &#43; \\u002b",
        "line one\r\n    line two\\n three",
        "",
    ]:
        assert redact(text) == text


def test_random_renderings_are_all_masked() -> None:
    """Each character escaped at random, any case, line breaks anywhere, after a backslash:
    the quick test that skips texts without a secret never skips one that has it."""
    rng = random.Random(17)
    secrets = [ESCAPED, "nr-tok_en.0123", "Rtoken\\x2b+/Z"]
    for secret in secrets:
        register_secret(secret)

    def render(char: str) -> str:
        if char.isalnum():
            return rng.choice([char.lower(), char.upper()])
        return rng.choice(
            [
                char,
                quote(char, safe=""),
                quote(quote(char, safe=""), safe=""),
                f"&#{ord(char)};",
                f"&#x{ord(char):x};",
                f"\\u{ord(char):04x}",
            ]
        )

    for trial in range(600):
        secret = rng.choice(secrets)
        parts = [render(c) for c in secret]
        for _ in range(rng.randint(0, 3)):
            at = rng.randint(1, len(parts) - 1)
            parts.insert(at, rng.choice(["\n", "\r\n  ", " \n\t", "\\n", "\\r\\n "]))
        before = rng.choice(["", "x", "\\", "C:\\", "%", "&", "token="])
        text = f"{before}{''.join(parts)} end"
        shown = redact(text)
        assert shown.endswith(" end") and MASK in shown, (trial, text, shown)
        assert _leaked(secret, shown) == [], (trial, text, shown)


def test_a_runtime_token_echoed_in_every_form_is_masked(make_engine: EngineFactory) -> None:
    """The JWT a login returns is a secret from then on: a vendor quoting it back in any
    form leaves none of them in the error."""
    router = respx.Router(base_url=BASE, assert_all_called=True)
    login_route(router)
    router.get("/api/v1/users/u-1").mock(
        return_value=httpx.Response(400, text="\n".join(_echoes(JWT).values()))
    )
    with pytest.raises(errors.CallError) as caught:
        lacework_engine(make_engine, router).invoke("lacework_edge.users.get", {"uuid": "u-1"})
    shown = f"{caught.value} {caught.value.to_dict()} {caught.value!r}"
    assert MASK in shown
    assert _leaked(JWT, shown) == [] and _leaked(CANARY, shown) == []


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


def test_redact_data_masks_a_secret_anywhere_and_returns_clean_data_as_is() -> None:
    register_secret(ESCAPED)
    clean = {"alerts": [{"user": "a@example.com", "count": 1}], "note": "line\nbreak \\n"}
    assert redact_data(clean) is clean
    dirty = {
        "alerts": [{"user": "a@example.com"}, {"msg": f"token {quote(ESCAPED.lower())}"}],
        ESCAPED: ("kept",),
    }
    assert redact_data(dirty) == {
        "alerts": [{"user": "a@example.com"}, {"msg": f"token {MASK}"}],
        MASK: ["kept"],
    }
