"""A simulator of the Netskope REST API v2 Client Status iterator (one per tenant, CSV).

    POST   /api/v2/dataexport/iterator/{index}?eventtype=clientstatus   create
    GET    /api/v2/dataexport/iterator/{index}                          status
    GET    /api/v2/dataexport/iterator/{index}/events?operation=next    fetch (or resend)
    DELETE /api/v2/dataexport/iterator/{index}                          delete

Answers (every one carries RateLimit-* headers; auth, 429s and faults: `v2_http.py`):

    create  200 {"ok": 1, "index": I, "eventtype": "clientstatus", "status": "creating"}
                ("ready" when the tenant is set to be ready after 0 polls)
            400 eventtype missing or not clientstatus
            409 an iterator already exists (the message names its index)
    status  200 {"ok": 1, "index": I, "eventtype": "clientstatus", "status": "creating" | "ready"}
    fetch   200 text/csv: a header row (`clientstatus.CSV_FIELDS`), then one row per
                event; a `wait_time` header (seconds, the data-export formula)
            400 operation missing or not next/resend
            409 the iterator is still being created, or another fetch on it is running
    delete  200 {"ok": 1, "index": I, "status": "deleted"}
    any     404 {"ok": 0, "message": ...} no iterator with this index
            409 {"ok": 0, "message": ...} a create or delete overlapping another

`next` starts at the oldest event still within the 7-day retention and continues after
the last page served; `resend` repeats that page.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from soarpack.sandbox.netskope.clientstatus import (
    RETENTION_SECONDS,
    ClientStatusIterator,
    IteratorExists,
)
from soarpack.sandbox.netskope.events import CLIENTSTATUS_KIND
from soarpack.sandbox.netskope.iterators import parse_operation, plan_page, wait_time
from soarpack.sandbox.netskope.tenant import NetskopeTenant
from soarpack.sandbox.netskope.v2_http import Plan, Planner, v2_endpoint, v2_error

__all__ = ["clientstatus_routes"]

ITERATOR_PATH = "/api/v2/dataexport/iterator/{index}"
FETCH_OPERATIONS = ("next", "resend")
MANAGE_GUARD = ("clientstatus", "create/delete")
MANAGE_BUSY = (
    "Conflict: concurrent create/delete not supported; another create or delete "
    "iterator request is still being processed. Retry when it has finished."
)
FETCH_BUSY = (
    "Conflict: concurrent event fetch requests on the same iterator are not supported. "
    "Fetch from one consumer, one request at a time."
)


def _unknown(index: str) -> Response:
    return v2_error(404, f"Iterator {index!r} not found")


def _described(iterator: ClientStatusIterator, status: str) -> Response:
    body = {"ok": 1, "index": iterator.index, "eventtype": CLIENTSTATUS_KIND, "status": status}
    return JSONResponse(body)


def _manage_planner(state: NetskopeTenant) -> Planner:
    def plan(request: Request) -> Plan | Response:
        index = request.path_params["index"]
        if request.method == "GET":
            return Plan(run=lambda: _status(state, index))
        if request.method == "DELETE":
            return Plan(
                run=lambda: _delete(state, index), guard=MANAGE_GUARD, busy_message=MANAGE_BUSY
            )
        eventtype = request.query_params.get("eventtype")
        if eventtype != CLIENTSTATUS_KIND:
            got = "missing" if eventtype is None else f"{eventtype!r}"
            return v2_error(400, f"eventtype must be clientstatus (got {got})")
        return Plan(run=lambda: _create(state, index), guard=MANAGE_GUARD, busy_message=MANAGE_BUSY)

    return plan


def _create(state: NetskopeTenant, index: str) -> Response:
    try:
        iterator = state.clientstatus.create(index, state.clientstatus_ready_after)
    except IteratorExists as exc:
        return v2_error(
            409,
            f"Only one Client Status iterator is allowed per tenant and {exc.index!r} "
            "already exists; delete it first.",
        )
    return _described(iterator, "ready" if iterator.ready else "creating")


def _status(state: NetskopeTenant, index: str) -> Response:
    iterator = state.clientstatus.find(index)
    if iterator is None:
        return _unknown(index)
    return _described(iterator, iterator.poll())


def _delete(state: NetskopeTenant, index: str) -> Response:
    if not state.clientstatus.delete(index):
        return _unknown(index)
    return JSONResponse({"ok": 1, "index": index, "status": "deleted"})


def _fetch_planner(state: NetskopeTenant) -> Planner:
    def plan(request: Request) -> Plan | Response:
        index = request.path_params["index"]
        if state.clientstatus.find(index) is None:
            return _unknown(index)
        try:
            operation = parse_operation(
                request.query_params.get("operation"), FETCH_OPERATIONS, epoch=False
            )
        except ValueError as exc:
            return v2_error(400, str(exc))
        return Plan(
            run=lambda: _fetch(state, index, operation == "resend"),
            guard=("clientstatus", "fetch", index),
            busy_message=FETCH_BUSY,
        )

    return plan


def _fetch(state: NetskopeTenant, index: str, resend: bool) -> Response:
    iterator = state.clientstatus.find(index)
    if iterator is None:  # deleted while this request waited (a delay fault)
        return _unknown(index)
    if not iterator.ready:
        return v2_error(
            409,
            f"Iterator {index!r} is still being created; poll GET "
            f"/api/v2/dataexport/iterator/{index} until its status is ready.",
        )
    events = state.clientstatus.events
    moved, (start, stop) = plan_page(
        iterator.cursor,
        "resend" if resend else "next",
        stream=events,
        page_size=state.page_size,
        # Retention: anything older than 7 days before the tenant's clock is gone.
        floor=events.first_at_or_after(state.clock - RETENTION_SECONDS),
    )
    iterator.cursor = moved
    wait = wait_time(stop - start, state.page_size, state.v2_idle_wait)
    return Response(
        events.csv(start, stop),
        media_type="text/csv; charset=utf-8",
        headers={"wait_time": str(wait)},
    )


def clientstatus_routes(state: NetskopeTenant) -> list[Route]:
    """The Client Status iterator routes for `state`."""
    return [
        Route(
            ITERATOR_PATH,
            v2_endpoint(state, _manage_planner(state)),
            methods=["GET", "POST", "DELETE"],
        ),
        Route(
            f"{ITERATOR_PATH}/events", v2_endpoint(state, _fetch_planner(state)), methods=["GET"]
        ),
    ]
