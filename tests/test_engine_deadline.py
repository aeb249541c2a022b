"""A per-invocation deadline (a playbook step's timeout) bounds HTTP calls, retries and
handler waits; when it is the limit that ran out, the error says so."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from tests.conftest import BASE_URL, EngineFactory, Sleeps, settings_env, transport_for

STEP_WORDS = "the step's timeout ran out"
ITERATOR = "/api/v2/dataexport/iterator/soar-cs"


def _silent(request: httpx.Request) -> httpx.Response:
    """A server that never answers: the read timeout the client set runs out."""
    raise httpx.ReadTimeout("no answer", request=request)


def test_a_step_deadline_shorter_than_total_timeout_ends_the_call_in_its_words(
    router: respx.Router, make_engine: EngineFactory, sleeps: Sleeps
) -> None:
    route = router.post("/api/v1/clients").mock(side_effect=_silent)
    engine = make_engine(transport_for(router), total_timeout=300, read_timeout=60)
    with pytest.raises(errors.RequestTimeout) as caught:
        engine.invoke("netskope.clients.list", {}, deadline=time.monotonic() + 5)
    error = caught.value
    assert STEP_WORDS in str(error) and "total_timeout" not in str(error)
    assert error.method == "POST" and error.url == f"{BASE_URL}/api/v1/clients"
    # No retry and no wait: the step's time is spent, whatever the read-retry rule says.
    assert route.call_count == 1 and error.attempts == 1 and sleeps == []
    # The attempt was bounded by the step's 5 s, not by read_timeout's 60.
    assert route.calls.last.request.extensions["timeout"]["read"] <= 5


def test_without_a_step_deadline_the_same_silence_is_retried_as_before(
    router: respx.Router, make_engine: EngineFactory, sleeps: Sleeps
) -> None:
    route = router.post("/api/v1/clients").mock(side_effect=_silent)
    with pytest.raises(errors.RequestTimeout) as caught:
        make_engine(transport_for(router)).invoke("netskope.clients.list", {})
    assert STEP_WORDS not in str(caught.value) and "did not answer in time" in str(caught.value)
    assert route.call_count == 3 and len(sleeps) == 2


def test_a_deadline_later_than_total_timeout_leaves_total_timeout_in_charge(
    router: respx.Router, make_engine: EngineFactory
) -> None:
    router.post("/api/v1/clients").mock(side_effect=_silent)
    engine = make_engine(transport_for(router), total_timeout=2, max_attempts=1)
    with pytest.raises(errors.RequestTimeout) as caught:
        engine.invoke("netskope.clients.list", {}, deadline=time.monotonic() + 600)
    assert STEP_WORDS not in str(caught.value)


def test_a_spent_deadline_sends_nothing(make_engine: EngineFactory) -> None:
    router = respx.Router(base_url=BASE_URL, assert_all_called=False)
    engine = make_engine(transport_for(router))
    with pytest.raises(errors.RequestTimeout, match="the step's timeout ran out before attempt 1"):
        engine.invoke("netskope.clients.list", {}, deadline=time.monotonic() - 1)
    assert router.calls.call_count == 0


@pytest.mark.parametrize(
    ("status", "headers", "error"),
    [
        pytest.param(503, {}, errors.ServerError, id="503-backoff"),
        pytest.param(429, {"Retry-After": "5"}, errors.RateLimitedError, id="429-retry-after"),
    ],
)
def test_no_retry_wait_runs_past_the_deadline(
    status: int,
    headers: dict[str, str],
    error: type[errors.CallError],
    router: respx.Router,
    make_engine: EngineFactory,
    sleeps: Sleeps,
) -> None:
    route = router.post("/api/v1/clients").respond(status, headers=headers)
    engine = make_engine(transport_for(router), max_attempts=5)
    with pytest.raises(error) as caught:
        engine.invoke("netskope.clients.list", {}, deadline=time.monotonic() + 0.3)
    # The vendor's own answer is reported (with its Retry-After), not a made-up timeout.
    assert route.call_count == 1 and caught.value.attempts == 1 and sleeps == []


def test_a_nested_action_is_bounded_by_the_callers_deadline(
    make_engine: EngineFactory,
) -> None:
    # users.suspend reads, updates and reads back through call_action: each one is bound.
    router = respx.Router(base_url="https://acme.api.laceworkedge.example", assert_all_called=False)
    engine = make_engine(
        transport_for(router),
        "lacework_edge",
        base_url="https://acme.api.laceworkedge.example",
    )
    with pytest.raises(errors.RequestTimeout, match=STEP_WORDS):
        engine.invoke(
            "lacework_edge.users.suspend", {"user_uuid": "u-1"}, deadline=time.monotonic() - 1
        )
    assert router.calls.call_count == 0  # not even the login


class RealSleeps(list[float]):
    """Records each wait and really waits (a handler's wait is cut to the deadline)."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


@pytest.fixture
def real_sleeps() -> RealSleeps:
    return RealSleeps()


@pytest.fixture
def v2_engine(pack: Pack, router: respx.Router, real_sleeps: RealSleeps) -> Iterator[Engine]:
    engine = Engine(
        pack,
        Config(env=settings_env("netskope_v2")),
        transports={"netskope_v2": transport_for(router)},
        sleep=real_sleeps,
    )
    yield engine
    engine.close()


def test_a_polling_handler_waits_only_until_the_deadline(
    router: respx.Router, v2_engine: Engine, real_sleeps: RealSleeps
) -> None:
    route = router.get(ITERATOR).respond(200, json={"ok": 1, "status": "creating"})
    budget = 0.2
    deadline = time.monotonic() + budget
    with pytest.raises(errors.RequestTimeout) as caught:
        v2_engine.invoke(
            "netskope.client_status.wait_ready",
            {"index": "soar-cs", "poll_interval": 10, "timeout_seconds": 300},
            deadline=deadline,
        )
    # One poll, one wait cut from 10 s to what was left, then the next poll found no time.
    assert route.call_count == 1 and len(real_sleeps) == 1 and real_sleeps[0] <= budget
    assert "the step's timeout ran out before attempt 1" in str(caught.value)
    assert time.monotonic() - deadline < 1.0
