"""metaaccess.devices.status_changed against a mocked MetaAccess: what is sent, what
comes back, paging to the 413 end, and every failure becoming its error."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from soarpack import errors
from soarpack.pack import Pack
from tests.conftest import BASE_URL, CANARY, EngineFactory, Sleeps, transport_for
from tests.metaaccess.helpers import (
    ACTION,
    DOCUMENT_EXAMPLE_TEXT,
    EXAMPLE_FULL_DEVICE,
    EXAMPLE_SHORT,
    PATH,
    body_of,
    devices,
)


def invoke(make_engine: EngineFactory, router: respx.Router, inputs: dict[str, Any]) -> Any:
    return make_engine(transport_for(router), "metaaccess").invoke(ACTION, inputs)


# -- what is sent ----------------------------------------------------------------


def test_defaults_are_sent_as_a_json_body_with_the_token_in_the_query(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    route = router.post(PATH).respond(200, json=EXAMPLE_SHORT)
    engine = make_engine(transport_for(router), "metaaccess")
    engine.invoke("metaaccess.devices.status_changed", {})
    sent = route.calls.last.request
    assert sent.method == "POST" and sent.url.path == PATH
    assert dict(sent.url.params) == {"access_token": CANARY}  # on the wire, as MetaAccess wants
    assert sent.headers["content-type"] == "application/json"
    assert body_of(sent) == {"age": 86400, "verbose": 0, "page": 1, "limit": 20}


def test_given_inputs_are_sent(make_engine: EngineFactory, router: respx.Router) -> None:
    route = router.post(PATH).respond(200, json={"monitored_devices": [], "deleted_devices": []})
    invoke(make_engine, router, {"age": 0, "verbose": 1, "page": 3, "limit": 50})
    assert body_of(route.calls.last.request) == {"age": 0, "verbose": 1, "page": 3, "limit": 50}


def test_the_declared_path_is_the_documented_one(pack: Pack) -> None:
    # The only place the pack names it: the handler and the probe send the declared request.
    declared = pack.action(ACTION).http
    assert declared is not None and declared.path == PATH
    assert declared.method == "POST" and declared.sent_by_handler


def test_a_base_url_path_prefix_is_kept(make_engine: EngineFactory) -> None:
    router = respx.Router(assert_all_called=True)
    route = router.post(f"{BASE_URL}/tenant-7{PATH}").respond(200, json=EXAMPLE_SHORT)
    engine = make_engine(transport_for(router), "metaaccess", base_url=f"{BASE_URL}/tenant-7/")
    engine.invoke(ACTION, {"limit": 1})
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("inputs", "pointer", "rule"),
    [
        pytest.param({"age": 86401}, "/age", "maximum", id="age-86401"),
        pytest.param({"age": -1}, "/age", "minimum", id="age-negative"),
        pytest.param({"limit": 51}, "/limit", "maximum", id="limit-51"),
        pytest.param({"limit": 0}, "/limit", "minimum", id="limit-0"),
        pytest.param({"page": 0}, "/page", "minimum", id="page-0"),
        pytest.param({"verbose": 2}, "/verbose", "enum", id="verbose-2"),
        pytest.param({"limit": 2.0}, "/limit", "type", id="float-2.0"),
        pytest.param({"verbose": True}, "/verbose", "type", id="bool-for-integer"),
        pytest.param({"all_pages": "yes"}, "/all_pages", "type", id="all-pages-string"),
        pytest.param({"all_pages": True, "max_devices": 0}, "/max_devices", "minimum", id="max-0"),
    ],
)
def test_schema_refuses_bad_inputs_before_sending(
    make_engine: EngineFactory, inputs: dict[str, Any], pointer: str, rule: str
) -> None:
    router = respx.Router(assert_all_called=False)
    with pytest.raises(errors.InputError) as caught:
        invoke(make_engine, router, inputs)
    found = [(e.pointer, e.rule) for e in caught.value.errors]
    assert (pointer, rule) in found and {p for p, _ in found} == {pointer}
    assert pointer.lstrip("/") in str(caught.value)
    assert router.calls.call_count == 0


# -- what comes back -------------------------------------------------------------


def test_short_answer_keeps_monitored_and_deleted_apart(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    router.post(PATH).respond(200, json=EXAMPLE_SHORT)
    result = invoke(make_engine, router, {"age": 3600})
    data = result.data
    assert data["monitored_devices"] == EXAMPLE_SHORT["monitored_devices"]
    assert data["deleted_devices"] == EXAMPLE_SHORT["deleted_devices"]
    assert (data["count"], data["monitored_count"], data["deleted_count"]) == (2, 1, 1)
    assert data["paging"] == {
        "first_page": 1,
        "last_page": 1,
        "pages": 1,
        "end_reached": False,
        "beyond_last_page": False,
        "truncated": False,
    }


@pytest.mark.parametrize(
    "issue",
    [
        pytest.param(
            {"total_issue": 10, "total_critical_issue": 3, "total_warning_issue": 7},
            id="example-names",
        ),
        pytest.param(
            {"total_issues": 10, "total_critical_issues": 3, "total_warning_issues": 7},
            id="table-names",
        ),
    ],
)
def test_full_answer_with_either_issue_naming(
    make_engine: EngineFactory, router: respx.Router, issue: dict[str, int]
) -> None:
    device = {**EXAMPLE_FULL_DEVICE, "issue": issue, "vendor_added_field": {"x": 1}}
    router.post(PATH).respond(200, json={"monitored_devices": [device], "deleted_devices": []})
    data = invoke(make_engine, router, {"verbose": 1}).data
    assert data["monitored_devices"] == [device]  # every field, extra ones included


def test_empty_answer(make_engine: EngineFactory, router: respx.Router) -> None:
    router.post(PATH).respond(200, json={"monitored_devices": [], "deleted_devices": []})
    data = invoke(make_engine, router, {}).data
    assert data["count"] == 0 and data["paging"]["end_reached"] is True
    assert data["paging"]["beyond_last_page"] is False and data["paging"]["last_page"] is None


def test_a_full_single_page_says_more_may_exist(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    router.post(PATH).respond(200, json=devices(5))
    data = invoke(make_engine, router, {"limit": 5}).data
    assert data["count"] == 5 and data["paging"]["truncated"] is True


# -- paging --------------------------------------------------------------------------


def test_all_pages_follows_pages_until_the_413(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    route = router.post(PATH).mock(
        side_effect=[
            httpx.Response(200, json=devices(10, 0, deleted_every=4)),
            httpx.Response(200, json=devices(10, 10, deleted_every=4)),
            httpx.Response(200, json=devices(3, 20, deleted_every=4)),
            httpx.Response(413, json={"message": "The requested page number is too large"}),
        ]
    )
    result = invoke(make_engine, router, {"all_pages": True, "limit": 10, "age": 600})
    data = result.data
    assert [body_of(c.request)["page"] for c in route.calls] == [1, 2, 3, 4]
    assert {body_of(c.request)["limit"] for c in route.calls} == {10}
    assert {body_of(c.request)["age"] for c in route.calls} == {600}
    assert data["count"] == 23 and data["deleted_count"] == 5
    assert [d["device_id"] for d in data["deleted_devices"]] == [
        "DEL00003",
        "DEL00007",
        "DEL00011",
        "DEL00015",
        "DEL00019",
    ]
    assert data["paging"] == {
        "first_page": 1,
        "last_page": 3,
        "pages": 3,
        "end_reached": True,
        "beyond_last_page": False,
        "truncated": False,
    }
    assert [c.status for c in result.calls] == [200, 200, 200, 413]


def test_all_pages_starts_at_the_page_given(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    route = router.post(PATH).mock(
        side_effect=[httpx.Response(200, json=devices(2)), httpx.Response(413, json={})]
    )
    data = invoke(make_engine, router, {"all_pages": True, "page": 4, "limit": 2}).data
    assert [body_of(c.request)["page"] for c in route.calls] == [4, 5]
    assert data["paging"]["first_page"] == 4 and data["paging"]["last_page"] == 4


def test_all_pages_stops_at_max_devices(make_engine: EngineFactory, router: respx.Router) -> None:
    route = router.post(PATH).mock(
        side_effect=[
            httpx.Response(200, json=devices(20, 0, deleted_every=5)),
            httpx.Response(200, json=devices(20, 20, deleted_every=5)),
        ]
    )
    data = invoke(make_engine, router, {"all_pages": True, "limit": 20, "max_devices": 30}).data
    assert route.call_count == 2  # no third request: the cap was reached
    assert data["count"] == 30 and data["paging"]["truncated"] is True
    assert data["paging"]["end_reached"] is False and data["paging"]["last_page"] == 2
    # page 1 whole (16 + 4), then page 2 cut to 10, monitored devices first
    assert data["monitored_count"] == 26 and data["deleted_count"] == 4


def test_an_empty_page_ends_the_crawl(make_engine: EngineFactory, router: respx.Router) -> None:
    route = router.post(PATH).mock(
        side_effect=[
            httpx.Response(200, json=devices(5)),
            httpx.Response(200, json={"monitored_devices": [], "deleted_devices": []}),
        ]
    )
    data = invoke(make_engine, router, {"all_pages": True, "limit": 5}).data
    assert route.call_count == 2 and data["paging"]["end_reached"] is True


@pytest.mark.parametrize("all_pages", [False, True], ids=["single-page", "all-pages"])
def test_413_on_the_first_page_is_an_empty_answer(
    make_engine: EngineFactory, router: respx.Router, all_pages: bool
) -> None:
    router.post(PATH).respond(413, json={"message": "The requested page number is too large"})
    result = invoke(make_engine, router, {"page": 9, "all_pages": all_pages})
    data = result.data
    assert data["monitored_devices"] == [] and data["deleted_devices"] == []
    assert data["paging"]["beyond_last_page"] is True and data["paging"]["end_reached"] is True
    assert data["paging"]["pages"] == 0 and data["paging"]["last_page"] is None
    assert [c.status for c in result.calls] == [413]


def test_crawl_stays_under_the_documented_rate_client_side(
    make_engine: EngineFactory, router: respx.Router, sleeps: Sleeps
) -> None:
    # 12 requests: the 11th must wait for the first to leave the 10-per-61-s window.
    router.post(PATH).mock(
        side_effect=[httpx.Response(200, json=devices(1, n)) for n in range(11)]
        + [httpx.Response(413, json={})]
    )
    data = invoke(make_engine, router, {"all_pages": True, "limit": 1}).data
    assert data["count"] == 11
    assert len(sleeps) == 2 and all(60 < s <= 61 for s in sleeps)


# -- failures ----------------------------------------------------------------------


def test_406_is_a_clear_bad_request_naming_limit(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    # The schema keeps limit within 1..50; should the vendor still refuse it, say why.
    route = router.post(PATH).respond(406, json={"message": "Not Acceptable"})
    with pytest.raises(errors.InvalidRequestError) as caught:
        invoke(make_engine, router, {"limit": 50})
    error = caught.value
    assert error.status == 406 and route.call_count == 1
    assert "`limit`" in str(error) and "1 to 50" in str(error)


def test_429_waits_retry_after_then_succeeds(
    make_engine: EngineFactory, router: respx.Router, sleeps: Sleeps
) -> None:
    route = router.post(PATH).mock(
        side_effect=[
            httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "rate limit"}),
            httpx.Response(200, json=EXAMPLE_SHORT),
        ]
    )
    result = invoke(make_engine, router, {})
    assert route.call_count == 2 and sleeps == [7.0]
    assert [(c.status, c.attempt) for c in result.calls] == [(429, 1), (200, 2)]


def test_429_beyond_the_attempts_is_rate_limited(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    router.post(PATH).respond(429, headers={"Retry-After": "5"})
    with pytest.raises(errors.RateLimitedError) as caught:
        invoke(make_engine, router, {})
    assert caught.value.attempts == 3 and caught.value.retry_after == 5.0


@pytest.mark.parametrize(
    ("answers", "error", "calls"),
    [
        pytest.param([httpx.Response(500, text="boom")], errors.ServerError, 1, id="500"),
        pytest.param([httpx.Response(503)] * 3, errors.ServerError, 3, id="503"),
        pytest.param([httpx.ReadTimeout("slow")] * 3, errors.RequestTimeout, 3, id="timeout"),
    ],
)
def test_server_failures(
    make_engine: EngineFactory,
    router: respx.Router,
    answers: list[Any],
    error: type[errors.CallError],
    calls: int,
) -> None:
    route = router.post(PATH).mock(side_effect=answers)
    with pytest.raises(error) as caught:
        invoke(make_engine, router, {})
    assert route.call_count == calls and caught.value.attempts == calls
    assert CANARY not in str(caught.value) and "access_token=***" in str(caught.value.url)


def test_503_then_success(make_engine: EngineFactory, router: respx.Router) -> None:
    router.post(PATH).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=EXAMPLE_SHORT)]
    )
    assert invoke(make_engine, router, {}).data["count"] == 2


def test_the_documents_example_text_is_malformed_json_not_a_traceback(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    # The vendor's examples have trailing commas: an answer like that is not JSON.
    router.post(PATH).respond(
        200, content=DOCUMENT_EXAMPLE_TEXT.encode(), headers={"Content-Type": "application/json"}
    )
    with pytest.raises(errors.MalformedResponseError) as caught:
        invoke(make_engine, router, {})
    assert "not JSON" in str(caught.value) and caught.value.status == 200


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param({"error": "something"}, id="no-lists"),
        pytest.param({"monitored_devices": {"a": 1}, "deleted_devices": []}, id="not-a-list"),
        pytest.param([1, 2], id="array"),
    ],
)
def test_answers_without_device_lists_are_malformed(
    make_engine: EngineFactory, router: respx.Router, answer: Any
) -> None:
    router.post(PATH).respond(200, json=answer)
    with pytest.raises(errors.MalformedResponseError, match=ACTION):
        invoke(make_engine, router, {})


def test_devices_of_the_wrong_shape_are_malformed(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    router.post(PATH).respond(
        200, json={"monitored_devices": [{"device_id": 7}], "deleted_devices": []}
    )
    with pytest.raises(errors.MalformedResponseError, match="device_id"):
        invoke(make_engine, router, {})


# -- the connection probe (the manifest's connections.metaaccess.probe) -----------


def test_the_connection_test_sends_one_device_of_page_one(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    route = router.post(PATH).respond(200, json=EXAMPLE_SHORT)
    result = make_engine(transport_for(router), "metaaccess").invoke(
        "metaaccess.connection.test", {}
    )
    # Exactly the probe's inputs: no defaults (age) added, one request, no paging.
    assert body_of(route.calls.last.request) == {"verbose": 0, "page": 1, "limit": 1}
    assert route.call_count == 1
    assert set(result.data) == {"ok", "base_url", "latency_ms"} and result.data["ok"] is True


def test_the_connection_test_counts_a_413_as_authenticated(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    router.post(PATH).respond(413, json={"message": "The requested page number is too large"})
    result = make_engine(transport_for(router), "metaaccess").invoke(
        "metaaccess.connection.test", {}
    )
    assert result.data["ok"] is True and [c.status for c in result.calls] == [413]


def test_the_connection_test_raises_any_other_refusal(
    make_engine: EngineFactory, router: respx.Router
) -> None:
    router.post(PATH).respond(406, json={"message": "limit out of range"})
    with pytest.raises(errors.InvalidRequestError) as caught:
        make_engine(transport_for(router), "metaaccess").invoke("metaaccess.connection.test", {})
    assert caught.value.status == 406
