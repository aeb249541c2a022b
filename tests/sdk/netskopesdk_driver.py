"""Drives netskopesdk's iterator client the way its users do; runs in the SDK's own venv.

It imports only the SDK and the standard library (never soarpack or tests), reads one
scenario as JSON from argv[1] and prints what the SDK handed back as JSON: for every
call, the HTTP status, the records' `_id`s and a digest of the records themselves,
`wait_time`, the Content-Encoding the answer came in and its sizes on the wire and
decoded, RateLimit-Remaining, and for refusals the body and rate-limit headers.

    python netskopesdk_driver.py '{"scenario": "drain", "base_url": ..., ...}'

Scenarios: `drain` (next until a short page, per stream), `operations` (a list of
head/tail/next/resend/epoch calls on one stream), `retry_429` (a user's loop that calls
again after a 429) and `overlap` (a second consumer while the first one's `next` is in
flight). The SDK builds https://<hostname> URLs; the sandbox is plain http on loopback,
so base_url is set on its client's configs, as the benchmark does.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse
import urllib.request
from typing import Any

from netskope_api.iterator.const import Const
from netskope_api.iterator.netskope_iterator import NetskopeIterator

Plan = dict[str, Any]


def iterator(plan: Plan, stream: str, index: str) -> Any:
    family, name = stream.split("/", 1)
    params = {
        Const.NSKP_TOKEN: plan["token"],
        Const.NSKP_TENANT_HOSTNAME: urllib.parse.urlsplit(plan["base_url"]).netloc,
        Const.NSKP_ITERATOR_NAME: index,
        # Alerts: event type "alert" plus the alert type, as the SDK's README has it.
        Const.NSKP_EVENT_TYPE: name if family == "events" else Const.EVENT_TYPE_ALERT,
    }
    if family == "alerts":
        params[Const.NSKP_ALERT_TYPE] = name
    it = NetskopeIterator(params)
    it.client.configs["base_url"] = plan["base_url"]
    return it


def received(response: Any) -> dict[str, Any]:
    """What the SDK returned for one call, as the caller sees it."""
    seen: dict[str, Any] = {
        "status": response.status_code,
        "encoding": response.headers.get("Content-Encoding", "identity"),
        "asked": response.request.headers.get("Accept-Encoding"),
        "wire_bytes": int(response.headers.get("Content-Length", "0")),
        "decoded_bytes": len(response.content),
        "remaining": response.headers.get("RateLimit-Remaining"),
    }
    body = response.json()
    if response.status_code == 200:
        records = body["result"]
        seen["ids"] = [record["_id"] for record in records]
        seen["wait_time"] = body["wait_time"]
        # What the caller got, field for field, in a form the test can recompute.
        canonical = json.dumps(records, sort_keys=True, ensure_ascii=False)
        seen["digest"] = hashlib.sha256(canonical.encode()).hexdigest()
    else:
        seen["body"] = body
        seen["headers"] = {
            key: response.headers[key]
            for key in ("Retry-After", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Limit")
            if key in response.headers
        }
    return seen


def call(it: Any, operation: str | int) -> Any:
    if isinstance(operation, int):
        return it.download(operation)
    return getattr(it, operation)()


def drain(plan: Plan) -> dict[str, Any]:
    streams = {}
    for stream in plan["streams"]:
        it = iterator(plan, stream, plan["index"])
        calls = []
        while len(calls) < plan["max_calls"]:
            seen = received(it.next())
            calls.append(seen)
            # The loop of the SDK's users: a short page means caught up.
            if seen["status"] != 200 or len(seen["ids"]) < plan["page_size"]:
                break
        streams[stream] = calls
    return {"streams": streams}


def operations(plan: Plan) -> dict[str, Any]:
    it = iterator(plan, plan["stream"], plan["index"])
    calls = []
    for operation in plan["operations"]:
        if isinstance(operation, dict):  # {"append": N}: new records arrive meanwhile
            admin(plan, "/_sandbox/events", {"kind": plan["stream"], "count": operation["append"]})
            continue
        calls.append({"operation": operation, **received(call(it, operation))})
    return {"calls": calls}


def retry_429(plan: Plan) -> dict[str, Any]:
    it = iterator(plan, plan["stream"], plan["index"])
    calls = []
    for _ in range(plan["max_calls"]):
        seen = received(it.next())
        calls.append(seen)
        if seen["status"] == 200:
            break
    return {"calls": calls}


def overlap(plan: Plan) -> dict[str, Any]:
    """Two consumers of one index and type: the second calls while the first's is held."""
    first, second = (iterator(plan, plan["stream"], plan["index"]) for _ in range(2))
    results: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: results.update(first=received(first.next())))
    worker.start()
    # The sandbox takes a queued fault only once the request holds its index: an empty
    # fault queue means the first consumer's call is in flight.
    deadline = time.monotonic() + 10
    while admin(plan, "/_sandbox/faults")["pending"]:
        if time.monotonic() > deadline:
            raise SystemExit("the first consumer's request never started")
        time.sleep(0.005)
    results["second"] = received(second.next())
    worker.join()
    results["second_again"] = received(second.next())
    return results


def admin(plan: Plan, path: str, payload: dict[str, Any] | None = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(
        plan["base_url"] + path, data=data, method="POST" if data else "GET"
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


SCENARIOS = {"drain": drain, "operations": operations, "retry_429": retry_429, "overlap": overlap}

if __name__ == "__main__":
    plan = json.loads(sys.argv[1])
    plan["token"] = os.environ["NETSKOPE_V2_TOKEN"]
    from importlib.metadata import version

    outcome = SCENARIOS[plan["scenario"]](plan)
    outcome["versions"] = {name: version(name) for name in ("netskopesdk", "requests")}
    print(json.dumps(outcome))
