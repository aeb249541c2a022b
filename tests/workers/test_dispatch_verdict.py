"""The coordinator's own failures carry the resend verdict: a task that could not be
queued was not processed; one queued whose answer was lost may have run."""

from __future__ import annotations

from soarpack import errors
from soarpack.workers import dispatch


def test_a_task_that_could_not_be_queued_was_not_processed() -> None:
    error = dispatch._unreachable("redis://127.0.0.1:1/0", ConnectionError("refused"))
    assert isinstance(error, errors.ConnectionFailed) and error.processed is False
    assert error.reason == "refused" and "Cannot reach Redis at 127.0.0.1:1" in str(error)
    lost = dispatch._unreachable("redis://127.0.0.1:1/0", ConnectionError("x"), sent=True)
    assert isinstance(lost, errors.ConnectionFailed) and lost.processed is None


def test_a_task_whose_answer_was_lost_says_so_not_refused() -> None:
    lost = dispatch._unreachable("redis://127.0.0.1:1/0", ConnectionError("x"), sent=True)
    assert lost.reason == "answer_lost" and lost.processed is None and lost.transient is False
    assert "queued" in str(lost) and "may have run" in str(lost)
    assert lost.to_dict()["reason"] == "answer_lost"
