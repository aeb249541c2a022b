"""The one resend table: every status and transport failure has a verdict, the client's
errors carry it, and `may_resend` is the rule every layer goes by."""

from __future__ import annotations

import socket

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.http import errormap
from soarpack.manifest import StatusOverride
from tests.conftest import Sleeps
from tests.http.test_client import call, make_client

# status -> (error class, processed, transient)
EXPECTED: dict[int, tuple[type[errors.CallError], bool | None, bool]] = {
    400: (errors.InvalidRequestError, True, False),
    401: (errors.AuthenticationError, True, False),
    403: (errors.PermissionDeniedError, True, False),
    404: (errors.NotFoundError, True, False),
    406: (errors.InvalidRequestError, True, False),
    409: (errors.ConflictError, False, False),
    413: (errors.InvalidRequestError, True, False),
    418: (errors.InvalidRequestError, True, False),
    422: (errors.InvalidRequestError, True, False),
    429: (errors.RateLimitedError, False, True),
    500: (errors.ServerError, None, False),
    501: (errors.ServerError, None, False),
    502: (errors.ServerError, None, True),
    503: (errors.ServerError, False, True),
    504: (errors.ServerError, None, True),
    599: (errors.ServerError, None, False),
}


def test_every_error_status_has_a_verdict() -> None:
    for status in range(400, 600):
        row = errormap.for_status(status)
        assert issubclass(row.error, errors.CallError) and row.hint, status
        assert row.processed in (True, False, None)
        # A failure proven unprocessed and passing by itself is what any side effect retries.
        if row.transient and row.processed is False:
            assert status in (429, 503)


@pytest.mark.parametrize("status", list(EXPECTED))
@pytest.mark.parametrize("side_effect", ["read", "write", "destructive"])
def test_the_client_raises_each_status_with_its_verdict(
    router: respx.Router, sleeps: Sleeps, status: int, side_effect: str
) -> None:
    route = router.post("/api/thing").respond(status, json={"message": "no"})
    cls, processed, transient = EXPECTED[status]
    with pytest.raises(cls) as caught:
        call(make_client(router, sleeps), side_effect=side_effect)
    assert (caught.value.processed, caught.value.transient) == (processed, transient)
    resent = transient and (side_effect == "read" or processed is False)
    assert route.call_count == (4 if resent else 1)  # max_attempts 4


def _refused() -> httpx.ConnectError:
    error = httpx.ConnectError("connection failed")
    error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return error


def _dns() -> httpx.ConnectError:
    error = httpx.ConnectError("connection failed")
    error.__cause__ = socket.gaierror(-2, "Name or service not known")
    return error


TRANSPORT: list[tuple[str, httpx.HTTPError, type[errors.CallError], bool | None, bool]] = [
    ("refused", _refused(), errors.ConnectionFailed, False, True),
    ("dns", _dns(), errors.ConnectionFailed, False, True),
    (
        "tls",
        httpx.ConnectError("[SSL] certificate verify failed"),
        errors.ConnectionFailed,
        False,
        False,
    ),
    ("connect-other", httpx.ConnectError("boom"), errors.ConnectionFailed, False, True),
    ("proxy", httpx.ProxyError("407"), errors.ConnectionFailed, False, True),
    ("connect-timeout", httpx.ConnectTimeout("slow"), errors.RequestTimeout, False, True),
    ("pool-timeout", httpx.PoolTimeout("busy"), errors.RequestTimeout, False, True),
    ("protocol", httpx.UnsupportedProtocol("ftp"), errors.ConnectionFailed, False, False),
    ("read-timeout", httpx.ReadTimeout("slow"), errors.RequestTimeout, None, True),
    ("write-timeout", httpx.WriteTimeout("slow"), errors.RequestTimeout, None, True),
    ("cut", httpx.RemoteProtocolError("cut"), errors.TransportError, None, True),
    ("read-error", httpx.ReadError("reset"), errors.TransportError, None, True),
]


@pytest.mark.parametrize(
    ("exc", "cls", "processed", "transient"),
    [pytest.param(*row[1:], id=row[0]) for row in TRANSPORT],
)
@pytest.mark.parametrize("side_effect", ["read", "write"])
def test_every_transport_failure_has_a_verdict(
    router: respx.Router,
    sleeps: Sleeps,
    exc: httpx.HTTPError,
    cls: type[errors.CallError],
    processed: bool | None,
    transient: bool,
    side_effect: str,
) -> None:
    route = router.post("/api/thing").mock(side_effect=exc)
    with pytest.raises(cls) as caught:
        call(make_client(router, sleeps), side_effect=side_effect)
    assert (caught.value.processed, caught.value.transient) == (processed, transient)
    resent = transient and (side_effect == "read" or processed is False)
    assert route.call_count == (4 if resent else 1)


@pytest.mark.parametrize(
    ("answer", "processed"),
    [
        pytest.param(httpx.Response(200, text="<html>portal</html>"), True, id="not-json"),
        pytest.param(httpx.Response(302, headers={"location": "/login"}), True, id="redirect"),
    ],
)
def test_an_answer_we_cannot_use_was_processed_and_a_write_is_not_resent(
    router: respx.Router, sleeps: Sleeps, answer: httpx.Response, processed: bool
) -> None:
    route = router.post("/api/thing").mock(return_value=answer)
    with pytest.raises(errors.CallError) as caught:
        call(make_client(router, sleeps), side_effect="write")
    assert caught.value.processed is processed and route.call_count == 1


def test_an_override_changes_the_words_never_the_verdict() -> None:
    overrides = {409: StatusOverride(error="not_found", hint="gone"), 404: StatusOverride(hint="x")}
    row = errormap.for_status(409, overrides)
    assert (row.error, row.hint, row.processed, row.transient) == (
        errors.NotFoundError,
        "gone",
        False,
        False,
    )
    assert errormap.for_status(404, overrides).processed is True


@pytest.mark.parametrize(
    ("processed", "read", "write"),
    [(False, True, True), (None, True, False), (True, True, False)],
)
def test_may_resend_is_reads_or_proven_unprocessed(
    processed: bool | None, read: bool, write: bool
) -> None:
    error = errors.ServerError("x", processed=processed, transient=True)
    assert errormap.may_resend(error, "read") is read
    assert errormap.may_resend(error, "write") is write
    assert errormap.may_resend(error, "destructive") is write


def test_a_class_is_never_resent_only_if_no_row_of_it_can_be() -> None:
    never = {
        name
        for name in (
            "AuthenticationError",
            "PermissionDeniedError",
            "NotFoundError",
            "ConflictError",
            "RateLimitedError",
            "InvalidRequestError",
            "VendorError",
            "ServerError",
            "MalformedResponseError",
            "TransportError",
            "RequestTimeout",
            "ConnectionFailed",
            "CallError",
            "SoarpackError",
        )
        if errormap.never_resent(getattr(errors, name), verifiable=False)
    }
    assert never == {
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "InvalidRequestError",
        "VendorError",
        "MalformedResponseError",
    }
    assert errormap.never_resent(errors.ApprovalRejected, verifiable=True)


def test_with_a_token_exchange_only_what_it_cannot_raise_is_never_resent() -> None:
    # Every exchange failure is marked not processed: the action's request was not sent.
    names = ("AuthenticationError", "InvalidRequestError", "NotFoundError", "VendorError")
    never = {
        name
        for name in names
        if errormap.never_resent(getattr(errors, name), verifiable=False, exchange=True)
    }
    assert never == {"VendorError"}  # an exchange never reads the vendor's error fields
    assert all(
        errormap.never_resent(getattr(errors, name), verifiable=False, exchange=False)
        for name in names
    )
    assert errormap.never_resent(errors.ApprovalRejected, verifiable=False, exchange=True)
