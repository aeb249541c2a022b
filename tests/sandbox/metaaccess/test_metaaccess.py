"""The MetaAccess simulator: OAuth tokens, the status_changed endpoint's rules, its
rate limiter (on a fake clock), faults, the request log and the /metaaccess mount."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from soarpack.sandbox import (
    InProcessTransport,
    MetaAccessState,
    SandboxState,
    create_metaaccess_app,
    create_sandbox_app,
)
from soarpack.sandbox.metaaccess.app import CONNECTION, STATUS_CHANGED
from soarpack.sandbox.metaaccess.state import METAACCESS_CLIENT_ID
from soarpack.sandbox.shared.declared import exchange_path, request_path
from tests.sandbox.sandbox_helpers import BASE_URL, NOW, TOKEN

# Where the simulator serves them: the paths the manifest declares.
TOKEN_PATH = exchange_path(CONNECTION)
STATUS_CHANGED_PATH = request_path(STATUS_CHANGED)

SECRET = "sandbox-client-secret-42"
SHORT_FIELDS = {"device_id", "severity", "status", "issue", "network_info"}
FULL_FIELDS = {
    "device_id",
    "status",
    "status_detail",
    "severity",
    "issue",
    "group_name",
    "device_name",
    "nick_name",
    "device_type",
    "agent_version",
    "oesis_version",
    "last_seen",
    "public_ip",
    "country",
    "user_identity",
    "user_info",
    "remediation_link",
    "os_info",
    "network_info",
    "link_user",
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def state(clock: FakeClock) -> SandboxState:
    state = SandboxState(token=TOKEN, now=NOW, client_count=10, alert_count=10)
    state.metaaccess = MetaAccessState(
        seed=7, now=NOW, access_token=TOKEN, client_secret=SECRET, clock=clock
    )
    return state


@pytest.fixture
def http(state: SandboxState) -> Iterator[httpx.Client]:
    transport = InProcessTransport(create_metaaccess_app(state))
    with httpx.Client(transport=transport, base_url=BASE_URL) as client:
        yield client


def login(http: httpx.Client, secret: str = SECRET, **extra: str) -> httpx.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": METAACCESS_CLIENT_ID,
        "client_secret": secret,
        **extra,
    }
    return http.post(TOKEN_PATH, data=form)


def changed(http: httpx.Client, token: str | None = TOKEN, **body: Any) -> httpx.Response:
    params = {"access_token": token} if token is not None else {}
    return http.post(STATUS_CHANGED_PATH, params=params, json=body)


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    data = response.json()
    assert set(data) == {"monitored_devices", "deleted_devices"}
    return [d["device_id"] for d in data["monitored_devices"] + data["deleted_devices"]]


# -- OAuth --------------------------------------------------------------------------------


def test_client_credentials_buy_a_token_that_works(http: httpx.Client) -> None:
    answer = login(http)
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert changed(http, body["access_token"]).status_code == 200


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        pytest.param({"client_secret": "wrong-secret"}, 401, "invalid_client", id="bad-secret"),
        pytest.param({"client_id": "someone-else"}, 401, "invalid_client", id="bad-id"),
        pytest.param({"grant_type": "password"}, 400, "unsupported_grant_type", id="grant"),
    ],
)
def test_refused_logins(http: httpx.Client, form: dict[str, str], status: int, error: str) -> None:
    answer = login(http, **form)
    assert answer.status_code == status and answer.json()["error"] == error


def test_a_tenant_without_a_client_secret_refuses_every_login(state: SandboxState) -> None:
    state.metaaccess = MetaAccessState(now=NOW, access_token=TOKEN)
    with httpx.Client(
        transport=InProcessTransport(create_metaaccess_app(state)), base_url=BASE_URL
    ) as http:
        assert login(http).status_code == 401


def test_issued_tokens_expire(http: httpx.Client, clock: FakeClock) -> None:
    token = login(http).json()["access_token"]
    clock.now += 3599
    assert changed(http, token).status_code == 200
    clock.now += 1
    answer = changed(http, token)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"


def test_revoked_tokens_are_refused(http: httpx.Client, state: SandboxState) -> None:
    token = login(http).json()["access_token"]
    assert state.metaaccess.revoke_issued_tokens() == 1
    assert changed(http, token).status_code == 401
    assert changed(http, TOKEN).status_code == 200  # the provisioned token stays


@pytest.mark.parametrize(
    "how",
    [
        pytest.param({}, id="missing"),
        pytest.param({"params": {"access_token": "not-a-token"}}, id="unknown"),
        pytest.param({"headers": {"Authorization": f"Bearer {TOKEN}"}}, id="header"),
        pytest.param({"json": {"access_token": TOKEN}}, id="body"),
    ],
)
def test_the_token_counts_only_in_the_query(http: httpx.Client, how: dict[str, Any]) -> None:
    answer = http.post(STATUS_CHANGED_PATH, **how)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_token"


# -- status_changed ------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [51, 0, 1000])
def test_limit_outside_1_to_50_is_406(http: httpx.Client, limit: int) -> None:
    answer = changed(http, limit=limit)
    assert answer.status_code == 406 and "[1,50]" in answer.json()["message"]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"limit": "5"}, id="string"),
        pytest.param({"limit": 5.0}, id="float"),
        pytest.param({"age": 86401}, id="age"),
        pytest.param({"age": True}, id="bool"),
        pytest.param({"verbose": 2}, id="verbose"),
        pytest.param({"page": 0}, id="page"),
    ],
)
def test_bad_parameters_are_400(http: httpx.Client, body: dict[str, Any]) -> None:
    answer = changed(http, **body)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"


def test_a_body_that_is_not_json_is_400(http: httpx.Client) -> None:
    answer = http.post(
        STATUS_CHANGED_PATH,
        params={"access_token": TOKEN},
        content=b"{nope",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400


def test_pages_split_the_changed_devices_and_413_ends_them(
    http: httpx.Client, state: SandboxState
) -> None:
    expected = [d.device_id for d in state.metaaccess.changed_within(86400)]
    assert 30 < len(expected) < len(state.metaaccess.devices)  # age really filters
    last = math.ceil(len(expected) / 20)
    seen: list[str] = []
    for page in range(1, last + 1):
        seen += ids(changed(http, page=page, limit=20))
    assert sorted(seen) == sorted(expected) and len(set(seen)) == len(seen)
    beyond = changed(http, page=last + 1, limit=20)
    assert beyond.status_code == 413 and beyond.json()["error"] == "page_too_large"


def test_defaults_are_age_86400_page_1_limit_20(http: httpx.Client, state: SandboxState) -> None:
    expected = [d.device_id for d in state.metaaccess.changed_within(86400)][:20]
    assert sorted(ids(changed(http))) == sorted(expected)


def test_age_filters_by_the_last_status_change(http: httpx.Client, state: SandboxState) -> None:
    hour = state.metaaccess.changed_within(3600)
    assert all(d.changed_at >= NOW - 3600 for d in hour)
    assert sorted(ids(changed(http, age=3600, limit=50))) == sorted(d.device_id for d in hour)


def test_page_one_of_nothing_is_empty_not_413(http: httpx.Client, state: SandboxState) -> None:
    state.metaaccess = MetaAccessState(now=NOW, access_token=TOKEN, device_count=0)
    assert ids(changed(http)) == []
    assert changed(http, page=2).status_code == 413


def test_verbose_0_and_1_field_sets(http: httpx.Client) -> None:
    short = changed(http, limit=50).json()
    full = changed(http, limit=50, verbose=1).json()
    assert short["monitored_devices"] and short["deleted_devices"]
    for device in short["monitored_devices"]:
        assert set(device) == SHORT_FIELDS
        assert all(set(a) <= {"ipv4", "mac"} for a in device["network_info"])
    for device in full["monitored_devices"]:
        assert set(device) == FULL_FIELDS
        assert set(device["issue"]) == {
            "total_issue",
            "total_critical_issue",
            "total_warning_issue",
        }
    for answer in (short, full):
        for device in answer["deleted_devices"]:
            assert set(device) == {"device_id", "network_info"}
    assert [d["device_id"] for d in short["monitored_devices"]] == [
        d["device_id"] for d in full["monitored_devices"]
    ]


def test_private_devices_hide_what_may_not_be_collected(http: httpx.Client) -> None:
    devices = changed(http, limit=50, verbose=1).json()["monitored_devices"]
    private = [d for d in devices if d["device_name"] == "<private>"]
    assert private
    for device in private:
        assert "username" not in device["user_info"]
        assert all("mac" not in a and "ipv4" not in a for a in device["network_info"])


def test_the_same_seed_gives_the_same_devices() -> None:
    first = MetaAccessState(seed=3, now=NOW).devices
    again = MetaAccessState(seed=3, now=NOW).devices
    other = MetaAccessState(seed=4, now=NOW).devices
    assert [d.record for d in first] == [d.record for d in again]
    assert [d.device_id for d in first] != [d.device_id for d in other]


# -- rate limit ----------------------------------------------------------------------------


def test_ten_requests_a_minute_per_account(http: httpx.Client, clock: FakeClock) -> None:
    # Counted per account, as the vendor does: the provisioned token and two tokens
    # obtained by logging in (as two CLI processes would) share one budget.
    tokens = [TOKEN, login(http).json()["access_token"], login(http).json()["access_token"]]
    for n in range(10):
        assert changed(http, tokens[n % 3], limit=1).status_code == 200
        clock.now += 1
    for token in tokens:  # a fresh token gets no fresh budget
        refused = changed(http, token, limit=1)
        assert refused.status_code == 429
        assert refused.json() == {"message": "API rate limit exceeded"}
        # The first request leaves the window 60 s after it was made.
        assert refused.headers["Retry-After"] == "50"
    assert changed(http, login(http).json()["access_token"], limit=1).status_code == 429
    clock.now += 49
    assert changed(http, tokens[1], limit=1).status_code == 429
    clock.now += 1
    assert changed(http, tokens[2], limit=1).status_code == 200
    assert changed(http, tokens[0], limit=1).status_code == 429  # the second one is 1 s off


def test_the_window_can_be_shortened_for_tests(state: SandboxState, clock: FakeClock) -> None:
    state.metaaccess = MetaAccessState(
        now=NOW, access_token=TOKEN, rate_requests=3, rate_window=2.0, clock=clock
    )
    transport = InProcessTransport(create_metaaccess_app(state))
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        assert [changed(http, limit=1).status_code for _ in range(4)] == [200, 200, 200, 429]
        clock.now += 2
        assert changed(http, limit=1).status_code == 200


def test_refused_and_unauthenticated_requests_do_not_count(
    http: httpx.Client, clock: FakeClock
) -> None:
    for _ in range(5):
        assert changed(http, token="nope").status_code == 401
    for _ in range(10):
        assert changed(http, limit=1).status_code == 200
    assert changed(http, limit=1).status_code == 429
    assert changed(http, limit=1).status_code == 429  # refusals do not push the window
    clock.now += 60
    assert changed(http, limit=1).status_code == 200


def test_the_limit_can_be_switched_off(http: httpx.Client, state: SandboxState) -> None:
    state.metaaccess.rate_limit = False
    assert all(changed(http, limit=1).status_code == 200 for _ in range(15))


# -- faults, log, mount ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        pytest.param({"status": 503}, 503, id="503"),
        pytest.param({"status": 429, "retry_after": 3}, 429, id="429"),
        pytest.param({"malformed": True}, 200, id="malformed"),
    ],
)
def test_faults_apply_to_the_next_request(
    http: httpx.Client, state: SandboxState, fault: dict[str, Any], status: int
) -> None:
    state.metaaccess.faults.push(fault)
    answer = changed(http)
    assert answer.status_code == status
    if fault.get("retry_after"):
        assert answer.headers["Retry-After"] == "3"
    if fault.get("malformed"):
        with pytest.raises(ValueError):
            answer.json()
    assert changed(http).status_code == 200
    assert state.logged_requests()[0]["fault"] == fault


def test_the_request_log_masks_tokens_and_secrets(http: httpx.Client, state: SandboxState) -> None:
    token = login(http).json()["access_token"]
    changed(http, token, limit=3)
    entries = state.logged_requests()
    assert [(e["method"], e["path"], e["status"]) for e in entries] == [
        ("POST", TOKEN_PATH, 200),
        ("POST", STATUS_CHANGED_PATH, 200),
    ]
    assert entries[0]["body"]["client_secret"] == "***"
    assert entries[1]["query"] == {"access_token": "***"} and entries[1]["body"] == {"limit": 3}
    assert token not in str(entries) and SECRET not in str(entries)


def test_served_under_metaaccess_beside_netskope(state: SandboxState) -> None:
    transport = InProcessTransport(create_sandbox_app(state))
    with httpx.Client(transport=transport, base_url=BASE_URL) as http:
        token = http.post(
            f"/metaaccess{TOKEN_PATH}",
            data={
                "grant_type": "client_credentials",
                "client_id": METAACCESS_CLIENT_ID,
                "client_secret": SECRET,
            },
        ).json()["access_token"]
        answer = http.post(
            f"/metaaccess{STATUS_CHANGED_PATH}", params={"access_token": token}, json={}
        )
        assert answer.status_code == 200 and answer.json()["monitored_devices"]
        netskope = http.post("/api/v1/clients", json={"token": TOKEN, "limit": 1})
        assert netskope.status_code == 200 and netskope.json()["status"] == "success"
        assert http.post(STATUS_CHANGED_PATH, params={"access_token": token}).status_code == 404
