"""Hostile Client Status CSV pages: embedded newlines and quotes parse; broken pages are
clear errors; nothing hangs (each call runs under the bounded() join timeout)."""

from __future__ import annotations

import httpx
import pytest

from soarpack import errors
from tests.conftest import EngineFactory
from tests.hostile.test_responses import bounded

ACTION = "netskope.client_status.fetch_page"
INDEX = "soar-clientstatus"


def page(engine_factory: EngineFactory, body: bytes) -> dict[str, object]:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/api/v2/dataexport/iterator/{INDEX}/events"
        return httpx.Response(200, content=body, headers={"content-type": "text/csv"})

    engine = engine_factory(httpx.MockTransport(answer), "netskope_v2")
    result = bounded(lambda: engine.invoke(ACTION, {"index": INDEX, "operation": "resend"}))
    data: dict[str, object] = result.data
    return data


def test_embedded_newlines_quotes_and_commas_parse(make_engine: EngineFactory) -> None:
    body = (
        b"\xef\xbb\xbfhostname,user,note\r\n"
        b'"host, one","a@example.com","line 1\nline 2 with ""quotes"""\r\n'
        b"host2,b@example.com,\"=cmd|' /C calc'!A0\"\r\n"
        b'host3,"{{7*7}}","${{ inputs.x }}"\r\n'
    )
    data = page(make_engine, body)
    assert data["columns"] == ["hostname", "user", "note"]
    assert data["records"] == [
        {"hostname": "host, one", "user": "a@example.com", "note": 'line 1\nline 2 with "quotes"'},
        # Carried as data: no formula, template or expression is evaluated.
        {"hostname": "host2", "user": "b@example.com", "note": "=cmd|' /C calc'!A0"},
        {"hostname": "host3", "user": "{{7*7}}", "note": "${{ inputs.x }}"},
    ]


def test_short_and_long_rows_keep_their_values(make_engine: EngineFactory) -> None:
    data = page(make_engine, b"a,b\n1\n1,2,3,4\n")
    assert data["records"] == [{"a": "1", "b": None}, {"a": "1", "b": "2", "_extra": "3,4"}]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        pytest.param(b"a,b\n\xff\xfe,2\n", "not UTF-8", id="invalid-utf8"),
        pytest.param(b'a,b\n"' + b"x" * 200_000 + b'",2\n', "not valid CSV", id="huge-field"),
    ],
)
def test_broken_pages_are_clear_errors(make_engine: EngineFactory, body: bytes, words: str) -> None:
    with pytest.raises(errors.MalformedResponseError, match=words) as caught:
        page(make_engine, body)
    # Answered with a 200: a `next` would have moved the cursor, so it is never resent.
    assert caught.value.processed is True and caught.value.transient is False
    assert caught.value.status == 200 and "operation resend" in (caught.value.hint or "")


def test_an_unterminated_quote_does_not_hang(make_engine: EngineFactory) -> None:
    # The csv module reads to the end of the page: one record holding the rest, no hang.
    data = page(make_engine, b'a,b\n1,"open quote\n2,3\n')
    assert data["count"] == 1
