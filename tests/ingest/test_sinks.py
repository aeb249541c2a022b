"""JSON Lines sink: rotation, positions and rollback (what exactly-once rests on)."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from soarpack.ingest.sinks import JsonLinesSink, SinkError, StdoutSink


def lines(directory: Path) -> list[str]:
    return [
        line for path in sorted(directory.glob("*.jsonl")) for line in path.read_text().splitlines()
    ]


def test_pages_are_appended_one_record_per_line(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, "events/page")
    sink.write([b'{"_id":"1"}', b'{"_id":"2"}'])
    position = sink.commit()
    assert position == {"file": "events_page-000001.jsonl", "seq": 1, "offset": 24}
    sink.write([])
    sink.write([b'{"_id":"3"}'])
    sink.commit()
    sink.close()
    assert lines(tmp_path) == ['{"_id":"1"}', '{"_id":"2"}', '{"_id":"3"}']


def test_rotates_between_pages_once_the_file_is_full(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, "alerts/dlp", rotate_bytes=20)
    for n in range(3):
        sink.write([b'{"_id":"%d"}' % (2 * n), b'{"_id":"%d"}' % (2 * n + 1)])
        sink.commit()
    sink.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "alerts_dlp-000001.jsonl",
        "alerts_dlp-000002.jsonl",
        "alerts_dlp-000003.jsonl",
    ]
    assert len(lines(tmp_path)) == 6


def test_rollback_erases_an_uncommitted_page_across_rotation(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, "events/page", rotate_bytes=20)
    sink.write([b'{"_id":"1"}', b'{"_id":"2"}'])
    mark = sink.commit()
    sink.write([b'{"_id":"3"}'])  # goes to a new file: the first is past 20 bytes
    sink.commit()
    sink.rollback(mark)
    assert lines(tmp_path) == ['{"_id":"1"}', '{"_id":"2"}']
    # A reopened sink continues from the files on disk.
    again = JsonLinesSink(tmp_path, "events/page", rotate_bytes=20)
    assert again.position() == mark
    sink.close()
    again.close()


def test_rollback_truncates_a_partly_written_page(tmp_path: Path) -> None:
    sink = JsonLinesSink(tmp_path, "events/page")
    sink.write([b'{"_id":"1"}'])
    mark = sink.commit()
    sink.write([b'{"_id":"2"}', b'{"_id":"3"}'])
    sink.rollback(mark)
    sink.write([b'{"_id":"2"}'])
    sink.commit()
    sink.close()
    assert lines(tmp_path) == ['{"_id":"1"}', '{"_id":"2"}']


def test_unwritable_directory_is_a_sink_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(SinkError, match="Cannot create the output directory"):
        JsonLinesSink(blocker / "sub", "events/page")


def test_stdout_sink_writes_lines_and_says_it_cannot_roll_back() -> None:
    out = io.BytesIO()
    sink = StdoutSink(out)
    sink.write([b'{"a":1}', b'{"a":2}'])
    sink.commit()
    sink.rollback({})
    assert out.getvalue() == b'{"a":1}\n{"a":2}\n' and sink.exactly_once is False


def test_a_page_of_more_records_than_one_writev_takes_is_written_whole(tmp_path: Path) -> None:
    records = [b'{"_id":"%d"}' % n for n in range(2_500)]  # 5,000 pieces: several calls
    sink = JsonLinesSink(tmp_path, "events/page")
    sink.write(records)
    sink.commit()
    sink.close()
    assert lines(tmp_path) == [r.decode() for r in records]


def test_a_short_write_is_finished_before_the_next_piece(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What the kernel may do on a signal or a nearly full disk: take only part of a call.
    real_writev = os.writev
    calls: list[int] = []

    def writev(fd: int, buffers: list[bytes]) -> int:
        calls.append(len(buffers))
        if len(calls) == 1:
            return os.write(fd, b"".join(buffers)[:7])
        return real_writev(fd, buffers)

    monkeypatch.setattr(os, "writev", writev)
    records = [b'{"_id":"%d"}' % n for n in range(1_500)]
    sink = JsonLinesSink(tmp_path, "events/page")
    sink.write(records)
    sink.commit()
    sink.close()
    assert len(calls) > 1  # the short call was followed by the rest
    assert lines(tmp_path) == [r.decode() for r in records]
