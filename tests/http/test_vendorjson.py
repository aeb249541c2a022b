"""Vendor JSON enters with every string encodable as UTF-8: a lone surrogate (escaped,
or as the bytes that would encode it) becomes U+FFFD; everything else is kept."""

from __future__ import annotations

import json

import httpx
import msgspec
import pytest

from soarpack import errors
from soarpack.http import vendorjson
from tests.conftest import EngineFactory

FFFD = "\ufffd"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(rb'{"a": "x\ud800y"}', {"a": f"x{FFFD}y"}, id="lone-high"),
        pytest.param(rb'{"a": "\udc00"}', {"a": FFFD}, id="lone-low"),
        pytest.param(rb'{"a": "\udc00\ud800"}', {"a": FFFD * 2}, id="pair-reversed"),
        pytest.param(
            rb'{"\ud800": ["\ud800", {"b": "\udfff"}]}',
            {FFFD: [FFFD, {"b": FFFD}]},
            id="keys-and-nested",
        ),
        pytest.param(b'{"a": "\xed\xa0\x80"}', {"a": FFFD}, id="utf8-encoded-surrogate"),
        pytest.param('{"a": "\\ud800"}'.encode("utf-16"), {"a": FFFD}, id="utf-16-text"),
        pytest.param(rb'"\ud800"', FFFD, id="top-level-string"),
    ],
)
def test_lone_surrogates_become_the_replacement_character(body: bytes, expected: object) -> None:
    value = vendorjson.loads(body)
    assert value == expected
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # what every output does


def test_everything_else_is_kept() -> None:
    body = rb'{"pair": "\ud83d\ude00", "slash": "\\ud800", "text": "caf\u00e9 \u4e2d", "n": [1, 2.5, null]}'
    assert vendorjson.loads(body) == {
        "pair": "\U0001f600",
        "slash": "\\ud800",  # an escaped backslash, then plain letters
        "text": "café 中",
        "n": [1, 2.5, None],
    }


def test_deep_nesting_is_walked_without_recursing() -> None:
    body = b"[" * 900 + rb'"\ud800"' + b"]" * 900
    value = vendorjson.loads(body)
    for _ in range(900):
        value = value[0]
    assert value == FFFD


def test_raw_escapes_are_rewritten_in_place_and_other_bytes_kept() -> None:
    raw = rb'{"_id":"a","x":"1\ud800 2","p":"\ud83d\ude00","s":"\\udc00","t":"\\\udc00"}'
    fixed = vendorjson.scrub_escapes(raw)
    assert len(fixed) == len(raw)
    assert fixed == rb'{"_id":"a","x":"1\ufffd 2","p":"\ud83d\ude00","s":"\\udc00","t":"\\\ufffd"}'
    # A strict reader accepts it now; it refused the original.
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(raw)
    assert msgspec.json.decode(fixed)["t"] == "\\" + FFFD
    plain = b'{"a": "nothing to change"}'
    assert vendorjson.scrub_escapes(plain) is plain


def test_a_read_action_returns_encodable_text(make_engine: EngineFactory) -> None:
    body = rb'{"status": "success", "data": [{"_id": "1", "alert_name": "bad \ud800 name"}]}'
    engine = make_engine(httpx.MockTransport(lambda request: httpx.Response(200, content=body)))
    result = engine.invoke("netskope.alerts.list", {"timeperiod": 3600})
    assert result.data["alerts"][0]["alert_name"] == f"bad {FFFD} name"
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")


def test_a_vendor_message_with_a_lone_surrogate_is_encodable(make_engine: EngineFactory) -> None:
    body = rb'{"status": "error", "errors": ["no \ud800 such thing"]}'
    engine = make_engine(httpx.MockTransport(lambda request: httpx.Response(404, content=body)))
    with pytest.raises(errors.NotFoundError) as caught:
        engine.invoke("netskope.alerts.list", {"timeperiod": 3600})
    assert caught.value.vendor_message == f"no {FFFD} such thing"
    json.dumps(caught.value.to_dict(), ensure_ascii=False).encode("utf-8")
