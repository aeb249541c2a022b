"""gzip answers read as they stream in (attempt.py inflates them with ISA-L): decoded like
httpx decodes them, the decoded size held to max_response_bytes, a broken body a
transport failure, and any other encoding left to httpx."""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator

import httpx
import pytest

from soarpack import errors
from tests.conftest import EngineFactory

ALERTS = "netskope.alerts.list"
ALERT = {"_id": "a1", "alert_name": "x" * 200, "timestamp": 1_700_000_000}
BODY = json.dumps({"status": "success", "data": [ALERT] * 50}).encode()


class Chunks(httpx.SyncByteStream):
    """A body that arrives in pieces, as it does off a socket (unread when answered)."""

    def __init__(self, data: bytes, size: int) -> None:
        self.pieces = [data[i : i + size] for i in range(0, len(data), size)]

    def __iter__(self) -> Iterator[bytes]:
        yield from self.pieces


def streamed(body: bytes, encoding: str, size: int = 100) -> httpx.MockTransport:
    headers = {"content-encoding": encoding, "content-type": "application/json"}
    return httpx.MockTransport(
        lambda request: httpx.Response(200, headers=headers, stream=Chunks(body, size))
    )


def test_a_gzip_answer_streamed_in_pieces_is_decoded(make_engine: EngineFactory) -> None:
    engine = make_engine(streamed(gzip.compress(BODY), "gzip", size=7))
    result = engine.invoke(ALERTS, {"timeperiod": 3600})
    assert result.data["alerts"] == [ALERT] * 50


def test_a_streamed_gzip_bomb_is_refused_at_its_decompressed_size(
    make_engine: EngineFactory,
) -> None:
    bomb = gzip.compress(b'{"data": ["' + b"0" * (8 << 20) + b'"]}')
    engine = make_engine(streamed(bomb, "gzip", size=64 << 10), max_response_bytes=1 << 20)
    with pytest.raises(errors.MalformedResponseError) as caught:
        engine.invoke(ALERTS, {"timeperiod": 3600})
    assert "max_response_bytes (1048576 bytes)" in str(caught.value)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_broken_compressed_body_is_a_transport_failure_either_way(
    make_engine: EngineFactory, encoding: str
) -> None:
    # gzip is ours to inflate, deflate httpx's: both end as the same kind of failure.
    engine = make_engine(streamed(b"\x1f\x8b\x08\x00 not really deflate", encoding), max_attempts=1)
    with pytest.raises(errors.TransportError) as caught:
        engine.invoke(ALERTS, {"timeperiod": 3600})
    assert "DecodingError" in str(caught.value)


def test_gzip_under_another_encoding_is_left_to_httpx(make_engine: EngineFactory) -> None:
    deflated = zlib.compress(gzip.compress(BODY))
    engine = make_engine(streamed(deflated, "gzip, deflate"))
    assert engine.invoke(ALERTS, {"timeperiod": 3600}).data["alerts"] == [ALERT] * 50
