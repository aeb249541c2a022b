"""A simulator of the Netskope REST API v2 data-export iterator endpoints.

    GET /api/v2/events/dataexport/events/{event_type}?index=...&operation=...
    GET /api/v2/events/dataexport/alerts/{alert_type}?index=...&operation=...

Each (index, type) pair has its own cursor (`iterators.py`): `next` continues after the
last page served (from the oldest record on a fresh index), `resend` repeats the last
page without moving, `head` starts over from the oldest record, `tail` serves nothing
and moves to the end so later `next`s see only new records, and an epoch timestamp (in
seconds) starts one-hour batches from it: from the first record at or after it, each
page holds one hour's records, `next` going on to the following hours. Pages hold at
most `state.page_size` records. Auth, rate limits, faults and 409s: see `v2_http.py`.

Answers (every one carries RateLimit-Limit / -Remaining / -Reset):

    200 {"ok": 1, "result": [record, ...], "wait_time": N}
        N is 0 after a full page, else round(v2_idle_wait * (1 - n / page_size)).
    400 {"ok": 0, "message": ...}   missing index, missing or unknown operation
    403 {"ok": 0, "message": "Invalid token. ..."}
    404 {"ok": 0, "message": ...}   unknown event or alert type
    409 {"ok": 0, "message": ...}   same index and type already being answered
    429 {"message": "API rate limit exceeded"}   with Retry-After
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from soarpack.sandbox.netskope.event_records import DATAEXPORT_ALERT_TYPES, DATAEXPORT_EVENT_TYPES
from soarpack.sandbox.netskope.events import STREAM_KINDS
from soarpack.sandbox.netskope.iterators import (
    DATAEXPORT_OPERATIONS,
    Operation,
    parse_operation,
    plan_page,
    wait_time,
)
from soarpack.sandbox.netskope.tenant import NetskopeTenant
from soarpack.sandbox.netskope.v2_http import Plan, v2_endpoint, v2_error

__all__ = ["dataexport_routes"]

DATAEXPORT_PATH = "/api/v2/events/dataexport/{family}/{name}"
BUSY_MESSAGE = (
    "Conflict: concurrent requests for the same index and event type are not supported. "
    "Pull each event type with one index from a single thread."
)
_TYPES = {"events": DATAEXPORT_EVENT_TYPES, "alerts": DATAEXPORT_ALERT_TYPES}


def _planner(state: NetskopeTenant) -> Callable[[Request], Plan | Response]:
    def plan(request: Request) -> Plan | Response:
        family = request.path_params["family"]
        name = request.path_params["name"]
        kind = f"{family}/{name}"
        if kind not in STREAM_KINDS:
            known = ", ".join(_TYPES.get(family, STREAM_KINDS))
            return v2_error(404, f"Unknown {family} type {name!r}; known types: {known}")
        index = request.query_params.get("index", "")
        if not index:
            return v2_error(400, "index is required: a name of your choosing for this consumer")
        try:
            operation = parse_operation(
                request.query_params.get("operation"), DATAEXPORT_OPERATIONS
            )
        except ValueError as exc:
            return v2_error(400, str(exc))
        return Plan(
            run=lambda: _serve(state, kind, index, operation),
            guard=("dataexport", index, kind),
            busy_message=BUSY_MESSAGE,
        )

    return plan


def _serve(state: NetskopeTenant, kind: str, index: str, operation: Operation) -> Response:
    stream = state.streams[kind]
    cursor = state.cursors.get(index, kind)
    moved, (start, stop) = plan_page(cursor, operation, stream=stream, page_size=state.page_size)
    wait = wait_time(stop - start, state.page_size, state.v2_idle_wait)
    # One join over shared pieces: the page's ~10 MB are copied once, never re-encoded.
    body = b"".join(
        [
            b'{"ok": 1, "result": [',
            *stream.render_parts(start, stop),
            b'], "wait_time": %d}' % wait,
        ]
    )
    if moved is not None and moved != cursor:
        state.cursors.put(index, kind, moved)
    return Response(body, media_type="application/json")


def dataexport_routes(state: NetskopeTenant) -> list[Route]:
    """The data-export iterator route for `state`."""
    return [Route(DATAEXPORT_PATH, v2_endpoint(state, _planner(state)), methods=["GET"])]
