"""A page whose records hold a lone surrogate escape (`"\\ud800"`): valid JSON text, but
strict readers (msgspec among them) refuse it, so the page was refused whole and the
stream stopped on it. Decided: the escape becomes `\\ufffd` in the record's bytes (same
length, every other byte kept), so each JSON Lines record is one any reader accepts and
what it says matches what every other output of the pack shows (U+FFFD)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import msgspec
import respx

from tests.conftest import EngineFactory, transport_for
from tests.ingest.test_runner_failures import PATH, checkpoint, run

FFFD = "\ufffd"
BODY = (
    rb'{"ok":1,"result":['
    rb'{"_id":"id0001","n":1,"text":"bad \ud800 text"},'
    rb'{"_id":"id\udc00","n":2,"text":"pair \ud83d\ude00 kept, \\ud800 is no escape"}'
    rb'],"wait_time":0}'
)


def test_the_ingest_writes_records_with_a_lone_surrogate_as_u_fffd(
    router: respx.Router, make_engine: EngineFactory, tmp_path: Path
) -> None:
    result, operations, _ = run(make_engine, router, tmp_path, [httpx.Response(200, content=BODY)])
    assert operations == ["next"] and (result.records, result.stopped) == (2, "caught_up")
    [out] = sorted((tmp_path / "out").glob("*.jsonl"))
    lines = out.read_bytes().splitlines()
    assert lines == [
        rb'{"_id":"id0001","n":1,"text":"bad \ufffd text"}',
        rb'{"_id":"id\ufffd","n":2,"text":"pair \ud83d\ude00 kept, \\ud800 is no escape"}',
    ]
    decoded = [msgspec.json.decode(line) for line in lines]  # a strict reader accepts them
    assert [d["text"] for d in decoded] == [
        f"bad {FFFD} text",
        "pair \U0001f600 kept, \\ud800 is no escape",
    ]
    assert checkpoint(tmp_path)["last_page"]["last_id"] == f"id{FFFD}"


def test_the_page_action_decodes_such_a_page(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    router.get(PATH).respond(200, content=BODY)
    engine = make_engine(transport_for(router), "netskope_v2", max_attempts=1)
    result = engine.invoke(
        "netskope.dataexport.fetch_page", {"event_type": "page", "index": "soar-page"}
    )
    records = result.data["records"]
    assert [r["text"] for r in records] == [
        f"bad {FFFD} text",
        "pair \U0001f600 kept, \\ud800 is no escape",
    ]
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")
