"""The retry loop of one logical request: the first attempt, then as many more as the
failure's verdict allows (errormap.retry_by_itself, the one retry rule), within
max_attempts, max_retry_wait and the deadline.

Waits honour the vendor's Retry-After (or RateLimit-Reset); else they back off
exponentially, with jitter so that clients spread out. The error finally raised says
how many attempts were made.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from soarpack.http import errormap
from soarpack.http.connection import Limits
from soarpack.http.request import AttemptFailed, LogicalRequest, Reply

if TYPE_CHECKING:
    import tenacity


def run(
    once: Callable[[int], Reply],
    request: LogicalRequest,
    limits: Limits,
    sleep: Callable[[float], None],
) -> Reply:
    """`once(number)` (attempt `number` of `request`), repeated while the loop allows;
    the last failure's error is raised."""
    # The first attempt goes without tenacity: most requests succeed at once, and
    # setting up a Retrying per request cost more than the rest of our own work.
    try:
        return once(1)
    except AttemptFailed as failed:
        first = failed
    return _again(once, first, request, limits, sleep)


def _again(
    once: Callable[[int], Reply],
    first: AttemptFailed,
    request: LogicalRequest,
    limits: Limits,
    sleep: Callable[[float], None],
) -> Reply:
    """After a failed first attempt: wait and try again as far as the failure, the
    side effect, max_attempts, max_retry_wait and the deadline allow."""
    import tenacity  # here: a first attempt that succeeds never needs it

    max_attempts, max_wait, ends = limits.max_attempts, limits.max_retry_wait, request.deadline
    side_effect = request.side_effect

    def stop(state: tenacity.RetryCallState) -> bool:
        upcoming = state.upcoming_sleep
        return (
            state.attempt_number >= max_attempts
            or state.idle_for + upcoming > max_wait
            # No wait that would end past the deadline: the last answer is reported.
            or upcoming > ends.left()
        )

    retrying = tenacity.Retrying(
        stop=stop,
        wait=_wait,
        retry=tenacity.retry_if_exception(
            lambda exc: (
                isinstance(exc, AttemptFailed) and errormap.retry_by_itself(exc.error, side_effect)
            )
        ),
        sleep=sleep,
        reraise=True,
    )
    number = 1
    try:
        for attempt in retrying:
            with attempt:
                number = attempt.retry_state.attempt_number
                if number == 1:
                    raise first  # sent already; tenacity decides on its outcome
                return once(number)
    except AttemptFailed as failed:
        failed.error.attempts = number
        raise failed.error from None
    raise AssertionError("unreachable: tenacity either returns or raises")


def _wait(state: tenacity.RetryCallState) -> float:
    """Honour the vendor's Retry-After / RateLimit-Reset; else exponential backoff with jitter."""
    exc = state.outcome.exception() if state.outcome else None
    if isinstance(exc, AttemptFailed) and exc.error.retry_after is not None:
        return max(0.0, exc.error.retry_after)
    return float(_backoff()(state))


@functools.cache
def _backoff() -> tenacity.wait.wait_base:
    import tenacity

    # 0.5 s, 1 s, 2 s ... capped at 30 s, plus up to 0.5 s of jitter so clients spread out.
    return tenacity.wait_exponential(multiplier=0.5, max=30) + tenacity.wait_random(0, 0.5)
