"""Hostile vendor answers: each gives a clear SoarpackError or a correct parse, in bounded time.

Every call runs in a thread joined with a timeout, so a hang fails the test instead of
stalling the suite.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from soarpack import errors
from tests.conftest import CANARY, EngineFactory

LIMIT_S = 10.0
ALERTS = "netskope.alerts.list"


def bounded(call: Callable[[], Any]) -> Any:
    """The call's result or exception, failing the test if it has not ended in LIMIT_S."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the test thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(LIMIT_S)
    assert not worker.is_alive(), f"still running after {LIMIT_S} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def answering(response: Callable[[], httpx.Response]) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: response())


def invoke_error(engine: Any, action: str = ALERTS, inputs: Any = None) -> errors.SoarpackError:
    """The SoarpackError the invocation raised (any other exception fails the test)."""
    try:
        bounded(lambda: engine.invoke(action, inputs or {"timeperiod": 3600}))
    except errors.SoarpackError as exc:
        assert CANARY not in str(exc) and CANARY not in repr(exc)
        json.dumps(exc.to_dict())
        return exc
    raise AssertionError("the hostile answer was accepted")


def endless(chunk: bytes, pause: float = 0.0) -> Iterator[bytes]:
    while True:
        if pause:
            time.sleep(pause)
        yield chunk


# -- size ----------------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused(make_engine: EngineFactory) -> None:
    big = json.dumps({"status": "success", "data": [{"x": "a" * 1000}] * 20}).encode()
    engine = make_engine(
        answering(lambda: httpx.Response(200, content=big)), max_response_bytes=4096
    )
    error = invoke_error(engine)
    assert isinstance(error, errors.MalformedResponseError)
    assert "max_response_bytes (4096 bytes)" in str(error) and error.status == 200


def test_an_endless_body_is_cut_at_the_cap(make_engine: EngineFactory) -> None:
    # No Content-Length and no end: reading it all would never finish.
    engine = make_engine(
        answering(lambda: httpx.Response(200, stream=_Endless())),
        max_response_bytes=1 << 20,
    )
    error = invoke_error(engine)
    assert isinstance(error, errors.MalformedResponseError) and "max_response_bytes" in str(error)


class _Endless(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b'{"data": ['
        yield from endless(b'"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", ' * 1000)


def test_a_gzip_bomb_counts_at_its_decompressed_size(make_engine: EngineFactory) -> None:
    bomb = gzip.compress(b'{"data": ["' + b"0" * (8 << 20) + b'"]}')
    assert len(bomb) < 64 << 10  # small on the wire
    engine = make_engine(
        answering(lambda: httpx.Response(200, content=bomb, headers={"content-encoding": "gzip"})),
        max_response_bytes=1 << 20,
    )
    assert isinstance(invoke_error(engine), errors.MalformedResponseError)


def test_a_body_that_drips_in_ends_at_total_timeout(make_engine: EngineFactory) -> None:
    class Drip(httpx.SyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield from endless(b" ", pause=0.05)  # each read is quick, the sum is endless

    engine = make_engine(
        answering(lambda: httpx.Response(200, stream=Drip())), total_timeout=1, max_attempts=1
    )
    started = time.monotonic()
    error = invoke_error(engine)
    assert isinstance(error, errors.RequestTimeout)
    assert time.monotonic() - started < 5


def test_the_cap_is_a_setting_with_a_default(make_engine: EngineFactory) -> None:
    engine = make_engine(answering(lambda: httpx.Response(200, json={"data": []})))
    assert engine.client("netskope").settings.get("max_response_bytes") == 64 << 20


# -- shape -------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deeply_nested_json_is_a_clear_error(  # was a RecursionError traceback
    make_engine: EngineFactory, depth: int
) -> None:
    nested = b'{"status": "success", "data": [' + b"[" * depth + b"]" * depth + b"]}"
    for status in (200, 400):
        engine = make_engine(answering(lambda s=status: httpx.Response(s, content=nested)))
        expected = errors.MalformedResponseError if status == 200 else errors.InvalidRequestError
        assert isinstance(invoke_error(engine), expected)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"status": "success", "data": "not a list"}, id="records-not-a-list"),
        pytest.param({"status": "success", "data": [1, "two", None]}, id="records-not-objects"),
        pytest.param({"status": "success"}, id="records-missing"),
        pytest.param([1, 2, 3], id="top-level-list"),
        pytest.param("just a string", id="top-level-string"),
        pytest.param(None, id="null"),
    ],
)
def test_wrong_types_are_malformed(make_engine: EngineFactory, body: Any) -> None:
    engine = make_engine(answering(lambda: httpx.Response(200, json=body)))
    assert isinstance(invoke_error(engine), errors.MalformedResponseError)


HTML = b"<html><head><title>Gateway</title></head><body><h1>Oops</h1>" + b"x" * 5000 + b"</html>"


def test_an_html_page_with_200_is_malformed(make_engine: EngineFactory) -> None:
    engine = make_engine(
        answering(lambda: httpx.Response(200, content=HTML, headers={"content-type": "text/html"}))
    )
    error = invoke_error(engine)
    assert isinstance(error, errors.MalformedResponseError)
    assert "not JSON (text/html)" in str(error) and len(str(error)) < 1000


@pytest.mark.parametrize("status", [500, 502, 503])
def test_an_html_page_with_5xx_is_a_server_error_without_the_page(
    make_engine: EngineFactory, status: int
) -> None:
    engine = make_engine(
        answering(
            lambda: httpx.Response(status, content=HTML, headers={"content-type": "text/html"})
        ),
        max_attempts=1,
    )
    error = invoke_error(engine)
    assert isinstance(error, errors.ServerError) and error.status == status
    assert "<html" not in str(error) and error.vendor_message is None


@pytest.mark.parametrize("status", [200, 400, 500])
def test_invalid_utf8_is_a_clear_error(make_engine: EngineFactory, status: int) -> None:
    body = b'{"status": "success", "data": [{"name": "\xff\xfe bad"}]}'
    engine = make_engine(answering(lambda: httpx.Response(status, content=body)), max_attempts=1)
    error = invoke_error(engine)
    expected = {200: errors.MalformedResponseError, 400: errors.InvalidRequestError}
    assert isinstance(error, expected.get(status, errors.ServerError))
