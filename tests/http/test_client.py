"""The shared HTTP client: auth placement, retries, error mapping, URL policy."""

from __future__ import annotations

import json
import socket
import ssl
import time
from typing import Any

import httpx
import pytest
import respx

from soarpack import __version__, errors
from soarpack.config import ConnectionSettings
from soarpack.http.client import ConnectionClient
from soarpack.http.connection import check_base_url, tls_context
from soarpack.http.invocation import CallRecord
from soarpack.manifest import AuthSpec, ConnectionSpec, RateLimitSpec, VendorErrorSpec
from soarpack.redact import register_secret
from tests.conftest import BASE_URL, CANARY, Sleeps, transport_for


def make_client(
    router: respx.Router,
    sleeps: Sleeps,
    *,
    place: str = "body",
    vendor_errors: VendorErrorSpec | None = None,
    rate_limit: RateLimitSpec | None = None,
    **values: Any,
) -> ConnectionClient:
    register_secret(CANARY)
    spec = ConnectionSpec(
        name="vendor",
        title="Vendor",
        description="test vendor",
        settings={},
        auth=AuthSpec(
            place=place,
            name="token" if place != "header" else "Authorization",
            setting="token",
            prefix="Bearer " if place == "header" else "",
        ),
        vendor_errors=vendor_errors,
        rate_limit=rate_limit,
        test_action="vendor.x.test",
    )
    settings = ConnectionSettings(
        "vendor",
        {"base_url": BASE_URL, "max_attempts": 4, "max_retry_wait": 60, **values},
        {"token": CANARY},
    )
    return ConnectionClient(spec, settings, transport=transport_for(router), sleep=sleeps)


def call(
    client: ConnectionClient, side_effect: str = "read", **kwargs: Any
) -> tuple[Any, list[CallRecord]]:
    calls: list[CallRecord] = []
    reply = client.request("POST", "/api/thing", side_effect=side_effect, calls=calls, **kwargs)
    return reply, calls


# -- what is sent ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("place", "check"),
    [
        pytest.param(
            "body",
            lambda r: json.loads(r.content)["token"] == CANARY and CANARY not in str(r.url),
            id="body",
        ),
        pytest.param(
            "header",
            lambda r: r.headers["Authorization"] == f"Bearer {CANARY}" and CANARY not in str(r.url),
            id="header",
        ),
        pytest.param("query", lambda r: r.url.params["token"] == CANARY, id="query"),
    ],
)
def test_auth_is_placed_where_declared(
    router: respx.Router, sleeps: Sleeps, place: str, check: Any
) -> None:
    route = router.post("/api/thing").respond(200, json={"ok": 1})
    client = make_client(router, sleeps, place=place)
    call(client, json_body={"q": "x"})
    assert check(route.calls.last.request)


def test_headers_name_soarpack_and_accept_gzip(router: respx.Router, sleeps: Sleeps) -> None:
    route = router.post("/api/thing").respond(200, json={})
    call(make_client(router, sleeps))
    sent = route.calls.last.request
    assert sent.headers["User-Agent"].startswith(f"soarpack/{__version__}")
    assert "gzip" in sent.headers["Accept-Encoding"]


def test_token_in_query_is_redacted_from_recorded_url(router: respx.Router, sleeps: Sleeps) -> None:
    router.post("/api/thing").respond(200, json={})
    _, calls = call(make_client(router, sleeps, place="query"))
    assert CANARY not in calls[0].url and "token=***" in calls[0].url


def test_token_in_query_is_redacted_from_errors(router: respx.Router, sleeps: Sleeps) -> None:
    # MetaAccess-style: the vendor forces the token into the URL, and echoes it back.
    router.post("/api/thing").respond(500, json={"message": f"bad request for token={CANARY}"})
    with pytest.raises(errors.ServerError) as caught:
        call(make_client(router, sleeps, place="query"))
    error = caught.value
    assert error.url == f"{BASE_URL}/api/thing?token=***"
    for text in (str(error), repr(error), str(error.to_dict())):
        assert CANARY not in text and "token=***" in text


# -- base URL and TLS policy -----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        pytest.param("https://tenant.goskope.com", True, id="https"),
        pytest.param("http://127.0.0.1:8765", True, id="http-loopback-v4"),
        pytest.param("http://localhost:8765", True, id="http-localhost"),
        pytest.param("http://[::1]:8765", True, id="http-loopback-v6"),
        pytest.param("http://tenant.goskope.com", False, id="http-remote"),
        pytest.param("http://10.0.0.5", False, id="http-private"),
        pytest.param("ftp://tenant.goskope.com", False, id="ftp"),
    ],
)
def test_base_url_policy(url: str, ok: bool) -> None:
    if ok:
        assert check_base_url(url, "netskope").host
    else:
        with pytest.raises(errors.ConfigError, match="must use https"):
            check_base_url(url, "netskope")


def test_base_url_with_credentials_is_refused() -> None:
    with pytest.raises(errors.ConfigError, match="must not contain a user name or password"):
        check_base_url("https://admin:hunter2@tenant.goskope.com", "netskope")


def test_tls_is_verified_by_default() -> None:
    context = tls_context(ConnectionSettings("c", {}, {}))
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname


def test_a_plain_http_loopback_client_trusts_no_ca() -> None:
    context = tls_context(ConnectionSettings("c", {}, {}), "http")
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname and context.get_ca_certs() == []


def test_unusable_ca_bundle_is_a_config_error(tmp_path: Any) -> None:
    with pytest.raises(errors.ConfigError, match="ca_bundle"):
        tls_context(ConnectionSettings("c", {"ca_bundle": str(tmp_path / "missing.pem")}, {}))


# -- retries -------------------------------------------------------------------------


def test_429_waits_retry_after_then_succeeds(router: respx.Router, sleeps: Sleeps) -> None:
    route = router.post("/api/thing").mock(
        side_effect=[
            httpx.Response(
                429, headers={"Retry-After": "7"}, json={"message": "API rate limit exceeded"}
            ),
            httpx.Response(200, json={"ok": 1}),
        ]
    )
    reply, calls = call(make_client(router, sleeps), side_effect="destructive")
    assert reply.data == {"ok": 1}
    assert route.call_count == 2 and sleeps == [7.0]
    assert [c.status for c in calls] == [429, 200] and [c.attempt for c in calls] == [1, 2]


def test_ratelimit_reset_is_honoured_when_no_retry_after(
    router: respx.Router, sleeps: Sleeps
) -> None:
    router.post("/api/thing").mock(
        side_effect=[
            httpx.Response(429, headers={"RateLimit-Reset": "2"}),
            httpx.Response(200, json={}),
        ]
    )
    call(make_client(router, sleeps))
    assert sleeps == [2.0]


def test_429_beyond_the_budget_raises_rate_limited_with_wait(
    router: respx.Router, sleeps: Sleeps
) -> None:
    router.post("/api/thing").respond(
        429, headers={"Retry-After": "5"}, json={"message": "API rate limit exceeded"}
    )
    with pytest.raises(errors.RateLimitedError) as caught:
        call(make_client(router, sleeps, max_attempts=3))
    error = caught.value
    assert error.status == 429 and error.retry_after == 5.0 and error.attempts == 3
    assert error.vendor_message == "API rate limit exceeded"
    assert "API rate limit exceeded" in str(error) and "wait" in str(error)
    assert sleeps == [5.0, 5.0]


def test_each_attempt_is_bounded_by_what_is_left_of_total_timeout(
    router: respx.Router, sleeps: Sleeps
) -> None:
    route = router.post("/api/thing").respond(200, json={})
    call(make_client(router, sleeps, read_timeout=60, total_timeout=5))
    sent = route.calls.last.request.extensions["timeout"]
    assert 0 < sent["read"] <= 5 and 0 < sent["connect"] <= 5


def test_total_timeout_stops_retrying_once_spent(router: respx.Router, sleeps: Sleeps) -> None:
    def slow_unavailable(request: httpx.Request) -> httpx.Response:
        time.sleep(0.06)
        return httpx.Response(503)

    route = router.get("/api/thing").mock(side_effect=slow_unavailable)
    client = make_client(router, sleeps, max_attempts=5, total_timeout=0.05)
    with pytest.raises(errors.ServerError) as caught:
        client.request("GET", "/api/thing", side_effect="read", calls=[])
    # The last real answer is reported, and no second attempt starts past the deadline.
    assert route.call_count == 1 and caught.value.attempts == 1


def test_total_wait_cap_stops_retrying(router: respx.Router, sleeps: Sleeps) -> None:
    router.post("/api/thing").respond(429, headers={"Retry-After": "40"})
    with pytest.raises(errors.RateLimitedError):
        call(make_client(router, sleeps, max_attempts=10, max_retry_wait=60))
    assert sleeps == [40.0]  # a second 40 s wait would pass the 60 s cap


@pytest.mark.parametrize(
    ("status", "side_effect", "attempts"),
    [
        pytest.param(502, "read", 4, id="502-read-retried"),
        pytest.param(502, "write", 1, id="502-write-not-retried"),
        pytest.param(504, "destructive", 1, id="504-destructive-not-retried"),
        pytest.param(503, "destructive", 4, id="503-any-retried"),
        pytest.param(500, "read", 1, id="500-not-retried"),
    ],
)
def test_5xx_retry_depends_on_whether_it_was_processed(
    router: respx.Router, sleeps: Sleeps, status: int, side_effect: str, attempts: int
) -> None:
    route = router.post("/api/thing").respond(status, text="upstream trouble")
    with pytest.raises(errors.ServerError) as caught:
        call(make_client(router, sleeps), side_effect=side_effect)
    assert route.call_count == attempts and caught.value.attempts == attempts
    assert caught.value.status == status and "upstream trouble" in str(caught.value)
    assert len(sleeps) == attempts - 1 and all(0 < s <= 30 for s in sleeps)


def test_backoff_grows(router: respx.Router, sleeps: Sleeps) -> None:
    router.post("/api/thing").respond(503)
    with pytest.raises(errors.ServerError):
        call(make_client(router, sleeps, max_attempts=5))
    assert len(sleeps) == 4 and sleeps[3] > sleeps[0]


@pytest.mark.parametrize(
    ("exc", "side_effect", "attempts", "error"),
    [
        pytest.param(
            httpx.ConnectError("boom"), "destructive", 4, errors.ConnectionFailed, id="connect-any"
        ),
        pytest.param(
            httpx.ConnectTimeout("slow"),
            "write",
            4,
            errors.RequestTimeout,
            id="connect-timeout-any",
        ),
        pytest.param(
            httpx.ReadTimeout("slow"), "read", 4, errors.RequestTimeout, id="read-timeout-read"
        ),
        pytest.param(
            httpx.ReadTimeout("slow"), "write", 1, errors.RequestTimeout, id="read-timeout-write"
        ),
        pytest.param(
            httpx.RemoteProtocolError("cut"), "read", 4, errors.TransportError, id="broken-read"
        ),
    ],
)
def test_transport_failures(
    router: respx.Router,
    sleeps: Sleeps,
    exc: Exception,
    side_effect: str,
    attempts: int,
    error: type,
) -> None:
    route = router.post("/api/thing").mock(side_effect=exc)
    with pytest.raises(error) as caught:
        call(make_client(router, sleeps), side_effect=side_effect)
    assert route.call_count == attempts
    assert caught.value.url == f"{BASE_URL}/api/thing" and caught.value.method == "POST"


@pytest.mark.parametrize(
    ("cause", "reason"),
    [
        pytest.param(socket.gaierror(-2, "Name or service not known"), "dns", id="dns"),
        pytest.param(ssl.SSLCertVerificationError("certificate verify failed"), "tls", id="tls"),
        pytest.param(ConnectionRefusedError(111, "Connection refused"), "refused", id="refused"),
    ],
)
def test_connect_errors_say_what_is_wrong(
    router: respx.Router, sleeps: Sleeps, cause: Exception, reason: str
) -> None:
    failure = httpx.ConnectError(str(cause))
    failure.__cause__ = cause
    router.post("/api/thing").mock(side_effect=failure)
    with pytest.raises(errors.ConnectionFailed) as caught:
        call(make_client(router, sleeps, max_attempts=1))
    assert caught.value.reason == reason


# -- status mapping ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, errors.InvalidRequestError, id="400"),
        pytest.param(401, errors.AuthenticationError, id="401"),
        pytest.param(403, errors.PermissionDeniedError, id="403"),
        pytest.param(404, errors.NotFoundError, id="404"),
        pytest.param(406, errors.InvalidRequestError, id="406"),
        pytest.param(409, errors.ConflictError, id="409"),
        pytest.param(413, errors.InvalidRequestError, id="413"),
        pytest.param(422, errors.InvalidRequestError, id="422"),
        pytest.param(418, errors.InvalidRequestError, id="other-4xx"),
    ],
)
def test_status_becomes_its_error_without_retry(
    router: respx.Router, sleeps: Sleeps, status: int, error: type
) -> None:
    route = router.post("/api/thing").respond(status, json={"message": f"vendor says {status}"})
    with pytest.raises(error) as caught:
        call(make_client(router, sleeps))
    assert route.call_count == 1 and sleeps == []
    assert caught.value.status == status and caught.value.vendor_message == f"vendor says {status}"
    assert f"vendor says {status}" in str(caught.value)


def test_redirect_is_not_followed(router: respx.Router, sleeps: Sleeps) -> None:
    router.post("/api/thing").respond(302, headers={"Location": "https://elsewhere.example.com/"})
    with pytest.raises(errors.InvalidRequestError, match="redirect"):
        call(make_client(router, sleeps))


# -- malformed answers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("response", "expect"),
    [
        pytest.param(httpx.Response(200, text='{"status": "succ'), "not JSON", id="truncated-json"),
        pytest.param(
            httpx.Response(200, html="<html><body>Captive portal</body></html>"),
            "text/html",
            id="html-page",
        ),
        pytest.param(httpx.Response(200, content=b"\xff\xfe\xfa"), "not JSON", id="invalid-utf8"),
    ],
)
def test_malformed_bodies(
    router: respx.Router, sleeps: Sleeps, response: httpx.Response, expect: str
) -> None:
    router.post("/api/thing").mock(return_value=response)
    with pytest.raises(errors.MalformedResponseError, match=expect):
        call(make_client(router, sleeps, max_attempts=1))


V1_ERRORS = VendorErrorSpec(
    status_field="status",
    error_values=["error"],
    message_fields=["errors", "msg"],
    auth_pattern="(?i)invalid token",
)


def test_error_in_a_200_body_is_a_vendor_error(router: respx.Router, sleeps: Sleeps) -> None:
    router.post("/api/thing").respond(
        200, json={"status": "error", "errors": ["limit must be below 5000"]}
    )
    with pytest.raises(errors.VendorError) as caught:
        call(make_client(router, sleeps, vendor_errors=V1_ERRORS))
    assert caught.value.vendor_message == "limit must be below 5000" and caught.value.status == 200


def test_token_error_in_a_200_body_is_an_auth_error(router: respx.Router, sleeps: Sleeps) -> None:
    router.post("/api/thing").respond(200, json={"status": "error", "errors": ["Invalid token."]})
    with pytest.raises(errors.AuthenticationError):
        call(make_client(router, sleeps, vendor_errors=V1_ERRORS))


def test_error_list_in_a_200_body_is_a_vendor_error(router: respx.Router, sleeps: Sleeps) -> None:
    # Some v1 errors come back without status=error, only a non-empty errors list.
    listing = VendorErrorSpec(
        status_field="status",
        error_values=["error"],
        message_fields=["errors"],
        error_list_fields=["errors"],
    )
    router.post("/api/thing").respond(200, json={"status": "success", "errors": ["bad groupby"]})
    with pytest.raises(errors.VendorError, match="bad groupby"):
        call(make_client(router, sleeps, vendor_errors=listing))


def test_403_naming_a_bad_token_is_an_auth_error(router: respx.Router, sleeps: Sleeps) -> None:
    router.post("/api/thing").respond(403, json={"status": "error", "errors": ["Invalid token."]})
    with pytest.raises(errors.AuthenticationError) as caught:
        call(make_client(router, sleeps, vendor_errors=V1_ERRORS))
    assert caught.value.status == 403 and "Invalid token" in str(caught.value)


def test_403_without_a_credential_message_stays_permission_denied(
    router: respx.Router, sleeps: Sleeps
) -> None:
    router.post("/api/thing").respond(403, json={"message": "endpoint not in token scope"})
    with pytest.raises(errors.PermissionDeniedError):
        call(make_client(router, sleeps, vendor_errors=V1_ERRORS))


def test_declared_rate_limit_spaces_requests(router: respx.Router, sleeps: Sleeps) -> None:
    route = router.post("/api/thing").respond(200, json={})
    client = make_client(router, sleeps, rate_limit=RateLimitSpec(requests=2, per_seconds=60))
    for _ in range(3):
        call(client)
    assert route.call_count == 3
    assert len(sleeps) == 1 and 59 < sleeps[0] <= 60
