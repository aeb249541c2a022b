"""v2 guard rails: token checks, the rate limiter, 409 on overlap, faults and the request log."""

from __future__ import annotations

import httpx
import pytest

from soarpack.sandbox import SandboxState
from soarpack.sandbox.shared.ratelimit import SlidingWindowLimiter
from tests.sandbox.sandbox_helpers import TOKEN, V2_TOKEN, export, overlapped, page, v2_error

PAGE = "/api/v2/events/dataexport/events/page"


def positions(response: httpx.Response) -> list[int]:
    return page(response)[0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(v2_state: SandboxState) -> FakeClock:
    """Switch the rate limit on, with a clock the test moves by hand."""
    fake = FakeClock()
    v2_state.v2_rate_limit = True
    v2_state.rate_limiter = SlidingWindowLimiter(limit=4, window=1.0, clock=fake)
    return fake


# --- tokens -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Netskope-Api-Token": None}, id="missing"),
        pytest.param({"Netskope-Api-Token": "wrong"}, id="wrong"),
        pytest.param({"Netskope-Api-Token": ""}, id="empty"),
        pytest.param({"Netskope-Api-Token": TOKEN}, id="the-v1-token"),
        pytest.param({"Netskope-Api-Token": V2_TOKEN + " "}, id="trailing-space"),
        pytest.param({"Netskope-Api-Token": None, "Authorization": V2_TOKEN}, id="other-header"),
    ],
)
@pytest.mark.parametrize(
    "request_line",
    [
        pytest.param(("GET", f"{PAGE}?index=demo&operation=next"), id="dataexport"),
        pytest.param(("POST", "/api/v2/dataexport/iterator/ci?eventtype=clientstatus"), id="cs"),
    ],
)
def test_bad_token_is_403(
    v2: httpx.Client, headers: dict[str, str | None], request_line: tuple[str, str]
) -> None:
    method, url = request_line
    sent = {k: v for k, v in headers.items() if v is not None}
    request = v2.build_request(method, url, headers=sent)
    if headers.get("Netskope-Api-Token") is None:
        del request.headers["Netskope-Api-Token"]
    response = v2.send(request)
    assert "token" in v2_error(response, 403)
    assert response.headers["RateLimit-Limit"] == "4"


def test_403_moves_no_cursor_and_creates_no_iterator(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    for _ in range(3):
        v2.get(
            PAGE, params={"index": "demo", "operation": "next"}, headers={"Netskope-Api-Token": "x"}
        )
    v2.post(
        "/api/v2/dataexport/iterator/ci?eventtype=clientstatus", headers={"Netskope-Api-Token": "x"}
    )
    assert positions(export(v2)) == list(range(10))
    assert v2_state.clientstatus.find("ci") is None


def test_header_name_is_case_insensitive(v2: httpx.Client) -> None:
    response = v2.get(
        PAGE,
        params={"index": "demo", "operation": "next"},
        headers={"netskope-api-token": V2_TOKEN},
    )
    assert positions(response) == list(range(10))


def test_v2_token_defaults_to_the_v1_token(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.v2_token = None
    assert v2_error(export(v2), 403)
    response = v2.get(
        PAGE, params={"index": "demo", "operation": "next"}, headers={"Netskope-Api-Token": TOKEN}
    )
    assert positions(response) == list(range(10))


def test_an_empty_configured_token_admits_nobody(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.v2_token = ""
    response = v2.get(
        PAGE, params={"index": "d", "operation": "next"}, headers={"Netskope-Api-Token": ""}
    )
    v2_error(response, 403)


# --- rate limit ---------------------------------------------------------------------


def test_fifth_request_in_a_second_is_429_on_the_real_clock(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    v2_state.v2_rate_limit = True
    responses = [export(v2, index=f"i{n}") for n in range(5)]
    assert [r.status_code for r in responses] == [200, 200, 200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in responses] == ["3", "2", "1", "0", "0"]
    assert {r.headers["RateLimit-Limit"] for r in responses} == {"4"}
    assert [r.headers["RateLimit-Reset"] for r in responses[:4]] == ["1"] * 4
    refused = responses[4]
    assert refused.json() == {"message": "API rate limit exceeded"}
    assert refused.headers["Retry-After"] == "1"
    assert "Retry-After" not in responses[0].headers


def test_a_refused_request_moves_no_cursor(v2: httpx.Client, clock: FakeClock) -> None:
    for n in range(4):
        export(v2, index=f"i{n}")
    assert export(v2, index="late").status_code == 429
    clock.now += 1.0
    assert positions(export(v2, index="late")) == list(range(10))


def test_the_window_slides(v2: httpx.Client, clock: FakeClock) -> None:
    for _ in range(4):
        assert export(v2, index="x", operation="head").status_code == 200
        clock.now += 0.25
    # t = 101.0: the first request (t = 100.0) has just left the window.
    assert export(v2, index="x", operation="head").status_code == 200
    clock.now += 0.05
    refused = export(v2, index="x", operation="head")
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"  # 0.2 s until a slot frees, rounded up
    clock.now += 0.2
    assert export(v2, index="x", operation="head").status_code == 200


def test_limits_are_per_endpoint_and_per_token(v2: httpx.Client, clock: FakeClock) -> None:
    for n in range(4):
        assert export(v2, index=f"i{n}").status_code == 200
    assert export(v2, "alerts/dlp").status_code == 200
    assert v2.get("/api/v2/dataexport/iterator/none").status_code == 404
    # Another token has its own quota (and fails auth on its own merits).
    other = v2.get(
        PAGE, params={"index": "i", "operation": "next"}, headers={"Netskope-Api-Token": "other"}
    )
    assert other.status_code == 403
    assert export(v2).status_code == 429


def test_refused_tokens_count_too(v2: httpx.Client, clock: FakeClock) -> None:
    statuses = [
        v2.get(
            PAGE, params={"index": "i", "operation": "next"}, headers={"Netskope-Api-Token": "bad"}
        ).status_code
        for _ in range(5)
    ]
    assert statuses == [403, 403, 403, 403, 429]


def test_rate_limit_can_be_switched_off(v2: httpx.Client, v2_state: SandboxState) -> None:
    assert v2_state.v2_rate_limit is False  # the small tenant's default
    responses = [export(v2, operation="head") for _ in range(12)]
    assert {r.status_code for r in responses} == {200}
    assert {r.headers["RateLimit-Remaining"] for r in responses} == {"4"}


# --- 409: overlapping requests --------------------------------------------------------


def test_overlapping_requests_for_one_index_and_type_are_409(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    slow, quick = overlapped(v2_state, lambda: export(v2), lambda: export(v2))
    assert positions(slow) == list(range(10))
    assert "concurrent requests for the same index and event type are not supported" in (
        v2_error(quick, 409)
    )
    assert quick.headers["RateLimit-Limit"] == "4"
    # Only the slow request moved the cursor.
    assert positions(export(v2)) == list(range(10, 20))


@pytest.mark.parametrize(
    ("kind", "index"),
    [
        pytest.param("events/page", "other", id="other-index"),
        pytest.param("events/network", "demo", id="other-type"),
    ],
)
def test_overlap_on_another_index_or_type_is_fine(
    v2: httpx.Client, v2_state: SandboxState, kind: str, index: str
) -> None:
    slow, quick = overlapped(v2_state, lambda: export(v2), lambda: export(v2, kind, index=index))
    assert positions(slow) == positions(quick) == list(range(10))


def test_the_guard_is_released_after_a_failure(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.faults.push({"status": 500})
    assert export(v2).status_code == 500
    assert positions(export(v2)) == list(range(10))


# --- faults ---------------------------------------------------------------------------


def test_faults_come_after_the_token_check(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.faults.push({"status": 503})
    bad = v2.get(
        PAGE, params={"index": "demo", "operation": "next"}, headers={"Netskope-Api-Token": "x"}
    )
    assert bad.status_code == 403
    assert v2_state.faults.pending() == [{"status": 503}]
    assert export(v2).status_code == 503


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 429, "retry_after": 2}, id="429"),
        pytest.param({"status": 502}, id="502"),
        pytest.param({"malformed": True}, id="malformed"),
        pytest.param({"html": True}, id="html"),
        pytest.param({"delay": 0.05, "status": 504}, id="slow-504"),
    ],
)
def test_a_faulted_request_moves_no_cursor(
    v2: httpx.Client, v2_state: SandboxState, fault: dict[str, object]
) -> None:
    export(v2)
    v2_state.faults.push(fault)
    faulted = export(v2)
    assert faulted.headers["RateLimit-Limit"] == "4"
    if faulted.status_code == 429:
        # No quota left, and no reset sooner than the retry it asks for.
        assert (
            faulted.headers["Retry-After"],
            faulted.headers["RateLimit-Remaining"],
            faulted.headers["RateLimit-Reset"],
        ) == ("2", "0", "2")
    assert positions(export(v2)) == list(range(10, 20))


def test_a_pure_delay_still_serves_the_page(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.faults.push({"delay": 0.05})
    assert positions(export(v2)) == list(range(10))
    assert v2_state.logged_requests()[-1]["fault"] == {"delay": 0.05}


def test_faults_apply_to_bad_requests_too(v2: httpx.Client, v2_state: SandboxState) -> None:
    v2_state.faults.push({"status": 500})
    assert v2.get(PAGE, params={"operation": "next"}).status_code == 500
    assert v2.get(PAGE, params={"operation": "next"}).status_code == 400


# --- request log ----------------------------------------------------------------------


def test_requests_are_logged_with_the_token_masked(
    v2: httpx.Client, v2_state: SandboxState
) -> None:
    export(v2)
    v2.get(
        PAGE,
        params={"index": "demo", "operation": "next"},
        headers={"Netskope-Api-Token": "a-wrong-guess"},
    )
    v2.get(PAGE, params={"index": V2_TOKEN, "operation": "next"})
    log = v2.get("/_sandbox/requests").json()["requests"]
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", PAGE, 200),
        ("GET", PAGE, 403),
        ("GET", PAGE, 200),
    ]
    assert log[0]["query"] == {"index": "demo", "operation": "next"}
    assert log[0]["headers"] == {"Netskope-Api-Token": "***"}
    assert log[2]["query"]["index"] == "***"
    assert V2_TOKEN not in str(v2_state.logged_requests())
    assert "a-wrong-guess" not in str(log)
