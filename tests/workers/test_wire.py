"""Every SoarpackError survives the trip through JSON: same class, same attributes."""

from __future__ import annotations

import inspect
import json
from typing import Any

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.engine import ActionResult
from soarpack.http.invocation import CallRecord
from soarpack.redact import register_secret
from soarpack.workers import wire
from tests.conftest import CANARY, Sleeps
from tests.http.test_client import call, make_client

CALL = {"status": 429, "vendor_message": "slow down", "method": "GET", "url": "https://x/y"}
SAMPLES: dict[type[errors.SoarpackError], errors.SoarpackError] = {
    errors.SoarpackError: errors.SoarpackError("base", hint="a hint"),
    errors.InputError: errors.InputError(
        "netskope.alerts.list",
        [errors.FieldError("/limit", "maximum", "too big"), errors.FieldError("", "type", "x")],
    ),
    errors.ConfigError: errors.ConfigError("no setting", hint="set it"),
    errors.TaskRefused: errors.TaskRefused("task-1", "its signature does not match"),
    errors.PackError: errors.PackError([("manifest.yaml", "broken"), ("a.py", "missing")]),
    errors.PlaybookError: errors.PlaybookError("cannot go on"),
    errors.PlaybookInvalid: errors.PlaybookInvalid(
        [errors.PlaybookProblem("b.yaml", 3, "s1", "with", "unknown input")]
    ),
    errors.ExpressionError: errors.ExpressionError(
        "bad", expression="steps.x", playbook="p", step="s", field="with"
    ),
    errors.RunStateError: errors.RunStateError("busy", hint="wait"),
    errors.RunBusyError: errors.RunBusyError("run-1", 4242),
    errors.DecisionConflict: errors.DecisionConflict(
        "run-1", "s1", "approved", "alice", "2026-01-01T00:00:00.000Z"
    ),
    errors.ApprovalRejected: errors.ApprovalRejected("s1", "alice", "not now"),
    errors.ApprovalTimedOut: errors.ApprovalTimedOut("s1", 30.5),
    errors.InDoubtError: errors.InDoubtError("run-1", ["s1", "s2[3]"]),
    errors.CallError: errors.CallError("failed", attempts=2, **CALL),
    errors.AuthenticationError: errors.AuthenticationError("401", status=401),
    errors.PermissionDeniedError: errors.PermissionDeniedError("403", status=403),
    errors.NotFoundError: errors.NotFoundError("404", status=404, url="https://x/1"),
    errors.ConflictError: errors.ConflictError("409", status=409),
    errors.RateLimitedError: errors.RateLimitedError(
        "429", retry_after=1.5, attempts=4, **{k: v for k, v in CALL.items()}
    ),
    errors.InvalidRequestError: errors.InvalidRequestError("422", status=422),
    errors.VendorError: errors.VendorError("error body", vendor_message="nope"),
    errors.ServerError: errors.ServerError("503", status=503, retry_after=2),
    errors.MalformedResponseError: errors.MalformedResponseError("not JSON", status=200),
    errors.TransportError: errors.TransportError("no answer"),
    errors.RequestTimeout: errors.RequestTimeout("slow", method="GET"),
    errors.ConnectionFailed: errors.ConnectionFailed("refused", reason="refused", url="u"),
}


def test_every_error_class_has_a_sample() -> None:
    classes = {
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.SoarpackError)
    }
    assert classes == set(SAMPLES)


def _through_json(data: Any) -> Any:
    return json.loads(json.dumps(data))


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_an_error_comes_back_as_the_same_class_with_its_attributes(
    cls: type[errors.SoarpackError],
) -> None:
    sent = SAMPLES[cls]
    back = wire.error_from_wire(_through_json(wire.error_to_wire(sent)))
    assert type(back) is cls
    assert vars(back) == vars(sent)
    assert str(back) == str(sent)
    assert back.to_dict() == sent.to_dict()
    with pytest.raises(cls) as raised:
        wire.unwrap(_through_json(wire.failure(sent, worker="w1")))
    assert vars(raised.value) == vars(sent)


def test_a_wire_message_cannot_name_a_class_outside_the_error_tree() -> None:
    back = wire.error_from_wire({"type": "SystemExit", "attrs": {"message": "boom"}})
    assert type(back) is errors.SoarpackError and back.message == "boom"


def test_results_round_trip_and_secrets_are_redacted_before_they_leave() -> None:
    register_secret(CANARY)
    result = ActionResult(
        "netskope.alerts.list",
        {"alerts": [{"note": f"token {CANARY}"}]},
        12.5,
        [CallRecord("GET", "https://x/api", 200, 3.2, 1)],
    )
    data = _through_json(wire.success(result, worker="w1"))
    assert CANARY not in json.dumps(data)
    back = wire.unwrap(data)
    assert back.action == result.action and back.calls == result.calls
    assert back.data == {"alerts": [{"note": "token ***"}]}
    error = errors.ServerError("failed", vendor_message=f"bad token {CANARY}", status=500)
    assert CANARY not in json.dumps(wire.failure(error))


def test_a_bug_on_the_worker_is_an_internal_error_here() -> None:
    with pytest.raises(wire.WorkerTaskFailed, match="ValueError: oops"):
        wire.unwrap(_through_json(wire.internal(ValueError("oops"))))


@pytest.mark.parametrize(
    ("answer", "processed", "transient"),
    [
        pytest.param(httpx.Response(502), None, True, id="502"),
        pytest.param(httpx.Response(503), False, True, id="503"),
        pytest.param(httpx.Response(404), True, False, id="404"),
        pytest.param(httpx.ReadTimeout("slow"), None, True, id="read-timeout"),
    ],
)
def test_the_resend_verdict_survives_the_trip(
    router: respx.Router,
    sleeps: Sleeps,
    answer: httpx.Response | Exception,
    processed: bool | None,
    transient: bool,
) -> None:
    # What a worker's client raised is what the coordinator's playbook retry reads.
    route = router.post("/api/thing")
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)
    with pytest.raises(errors.CallError) as raised:
        call(make_client(router, sleeps), side_effect="write")
    back = wire.error_from_wire(_through_json(wire.error_to_wire(raised.value)))
    assert isinstance(back, errors.CallError) and type(back) is type(raised.value)
    assert (back.processed, back.transient) == (processed, transient)
    assert back.to_dict()["processed"] == processed
