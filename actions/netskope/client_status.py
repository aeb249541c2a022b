"""netskope.client_status.*: the tenant's one Client Status iterator (CSV events).

Each action's request is declared in the manifest; these handlers send it
(`send_declared`) and read what comes back: a status, or a page of CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

from soarpack.http import errormap
from soarpack.netskope.dataexport import header_number
from soarpack.session import Session

_MAX_POLL_INTERVAL = 30.0


def _state(index: str, data: Any) -> dict[str, Any]:
    answer = data if isinstance(data, dict) else {}
    status = str(answer.get("status") or "unknown")
    return {
        "index": index,
        "status": status,
        "ready": status.lower() == "ready",
        "response": answer,
    }


def create(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _state(inputs["index"], session.send_declared(inputs).data)


def status(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    return _state(inputs["index"], session.send_declared(inputs).data)


def wait_ready(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    index, timeout = inputs["index"], float(inputs["timeout_seconds"])
    interval, waited, polls = float(inputs["poll_interval"]), 0.0, 0
    while True:
        polls += 1
        state = session.call_action("netskope.client_status.status", {"index": index})
        if state["ready"]:
            return {
                "index": index,
                "status": state["status"],
                "ready": True,
                "polls": polls,
                "waited_seconds": round(waited, 3),
            }
        if waited + interval > timeout:
            raise errormap.FAILURES["not_ready"].build(
                f"The Client Status iterator {index!r} was still {state['status']!r} after "
                f"{polls} polls over {waited:.0f} s (timeout_seconds {timeout:g}).",
                hint="Creation can take minutes on a busy tenant; wait longer or check it exists.",
            )
        session.sleep(interval)
        waited += interval
        interval = min(interval * 2, _MAX_POLL_INTERVAL)


def fetch_page(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    index, operation = inputs["index"], inputs["operation"]
    reply = session.send_declared(
        inputs, raw=True, side_effect="read" if operation == "resend" else None
    )
    # A page we cannot read still came with a 200: `next` moved the cursor (processed),
    # so it is not sent again; `resend` asks for the same page.
    bad_page = errormap.FAILURES["wrong_shape"]
    try:
        text = reply.data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise bad_page.build(
            f"The Client Status page is not UTF-8 text (bad byte at offset {exc.start}).",
            hint="Ask for the page again with operation resend.",
            status=reply.status,
            method="GET",
        ) from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise bad_page.build(
            f"The Client Status page is not valid CSV: {exc}.",
            hint="Ask for the page again with operation resend.",
            status=reply.status,
            method="GET",
        ) from None
    columns = list(reader.fieldnames or [])
    for record in records:
        # A short row leaves None values; a long row puts extras under None: keep them named.
        extra = record.pop(None, None)
        if extra:
            record["_extra"] = ",".join(extra)
    return {
        "index": index,
        "operation": operation,
        "count": len(records),
        "columns": columns,
        "records": records,
        "wait_time": max(0.0, header_number(reply.headers.get("wait_time"), float) or 0.0),
    }


def delete(session: Session, inputs: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    # The declared DELETE was sent; its answer says nothing more than that it succeeded.
    return {"index": inputs["index"], "deleted": True}
