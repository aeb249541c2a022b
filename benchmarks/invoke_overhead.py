"""Benchmark: one action through `Engine.invoke` vs the same request with plain httpx.

Both sides talk to the same `httpx.MockTransport` answering canned JSON (encoded once),
so no socket is involved and what differs is soarpack's own work: input validation and
defaults, the connection's client (auth placement, retries wrapper, redacted call
record), the declared request's shaping, enum names, and the output schema check.

- netskope.alerts.list {timeperiod, limit: 10}: POST /api/v1/alerts, token in the body,
  ten sandbox-generated alerts back. Plain httpx: the same POST, `.json()`, `status`
  checked, `data` taken.
- lacework_edge.users.get {uuid}: GET /api/v1/users/{uuid} with a bearer JWT. Plain
  httpx: the same GET and `.json()`.

A third figure, the floor, is the same request built as an `httpx.Request` and handed to
the transport itself (`handle_request`), body read and decoded: what no client on httpx
can go under. soarpack sends through the transport too (httpx.Client's redirect, cookie
and auth layers are not used), so it can come in under plain httpx; the table shows how
far above the floor it is, which is soarpack's own work.

Rounds alternate sides; each is `--iterations` calls. The ratio is the median of the
rounds' own ratios (each round pairs a run of ours with the plain run right after it, so
a slower moment of a shared machine weighs on both sides); the µs shown are medians.
Where the time goes: the stages timed alone (input validation, the client's request
including httpx, the output check), and a cProfile of invokes summed by area.

    .venv/bin/python -m benchmarks.invoke_overhead [--json] [--iterations N] [--rounds N]

This prints numbers; it asserts nothing about timing.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox.netskope.alerts import generate_alerts

TARGET_RATIO = 1.10
DEFAULT_ITERATIONS = 200
DEFAULT_ROUNDS = 15
NETSKOPE_URL = "https://bench.goskope.example"
LACEWORK_URL = "https://bench.api.laceworkedge.example"
NETSKOPE_TOKEN = "bench-token-0123456789"
JWT = "bench-jwt-0123456789"
SETTINGS_ENV = {
    "SOARPACK_NETSKOPE_BASE_URL": NETSKOPE_URL,
    "SOARPACK_NETSKOPE_TOKEN": NETSKOPE_TOKEN,
    "SOARPACK_LACEWORK_EDGE_BASE_URL": LACEWORK_URL,
    "SOARPACK_LACEWORK_EDGE_ACCOUNT": "bench",
    # A JWT as-is: no token login in the measured path.
    "SOARPACK_LACEWORK_EDGE_JWT": JWT,
}
USER = {
    "uuid": "u1",
    "account_name": "bench",
    "display_name": "Jane Doe",
    "status": 2,
    "role": 1,
    "tags": ["finance"],
    "create_time": 1700000000,
    "update_time": 1700000100,
}
# Which area of the code a profiled function belongs to (first match of its file path).
AREAS = (
    ("soarpack/schema", "validation (soarpack schemas)"),
    ("jsonschema", "validation (jsonschema)"),
    ("referencing", "validation (jsonschema)"),
    ("soarpack/annotated", "enum names"),
    ("soarpack/redact", "redaction"),
    ("tenacity", "retries wrapper (tenacity)"),
    ("soarpack/http", "connection client"),
    ("httpx", "httpx"),
    ("h11", "httpx"),
    ("json/", "serialization (json)"),
    ("soarpack/engine", "engine"),
    ("soarpack/declarative", "engine"),
)


def log(message: str) -> None:
    print(f"invoke_overhead: {message}", file=sys.stderr, flush=True)


class Canned:
    """The vendor: canned bodies, encoded once, the same for both sides."""

    def __init__(self, alerts: int = 10) -> None:
        records = generate_alerts(random.Random(7), n=alerts, now=1700000000)
        self.alerts = json.dumps({"status": "success", "msg": "", "data": records}).encode()
        self.user = json.dumps(USER).encode()
        self.requests = 0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = self.alerts if request.url.path == "/api/v1/alerts" else self.user
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)


@dataclass
class Call:
    label: str
    action: str
    inputs: dict[str, Any]
    ours: Callable[[], Any]
    plain: Callable[[], Any]
    floor: Callable[[], Any]


def make_calls(engine: Engine, transport: httpx.BaseTransport) -> tuple[list[Call], list[Any]]:
    """The calls and the plain clients (to close); each side checked once to agree."""
    netskope = httpx.Client(base_url=NETSKOPE_URL, transport=transport)
    lacework = httpx.Client(
        base_url=LACEWORK_URL, transport=transport, headers={"Authorization": f"Bearer {JWT}"}
    )
    alerts_in = {"timeperiod": 86400, "limit": 10}
    user_in = {"uuid": "u1"}

    def plain_alerts() -> Any:
        reply = netskope.post("/api/v1/alerts", params=alerts_in, json={"token": NETSKOPE_TOKEN})
        data = reply.json()
        if reply.status_code != 200 or data.get("status") != "success":
            raise RuntimeError("unexpected answer")
        return data["data"]

    def plain_user() -> Any:
        reply = lacework.get("/api/v1/users/u1")
        if reply.status_code != 200:
            raise RuntimeError("unexpected answer")
        return reply.json()

    def floor_alerts() -> Any:
        request = httpx.Request(
            "POST",
            f"{NETSKOPE_URL}/api/v1/alerts",
            params=alerts_in,
            json={"token": NETSKOPE_TOKEN},
        )
        reply = transport.handle_request(request)
        data = json.loads(reply.read())
        if reply.status_code != 200 or data.get("status") != "success":
            raise RuntimeError("unexpected answer")
        return data["data"]

    def floor_user() -> Any:
        request = httpx.Request(
            "GET", f"{LACEWORK_URL}/api/v1/users/u1", headers={"Authorization": f"Bearer {JWT}"}
        )
        reply = transport.handle_request(request)
        if reply.status_code != 200:
            raise RuntimeError("unexpected answer")
        return json.loads(reply.read())

    calls = [
        Call(
            "Netskope alerts.list (10 alerts)",
            "netskope.alerts.list",
            alerts_in,
            lambda: engine.invoke("netskope.alerts.list", alerts_in),
            plain_alerts,
            floor_alerts,
        ),
        Call(
            "Lacework Edge users.get",
            "lacework_edge.users.get",
            user_in,
            lambda: engine.invoke("lacework_edge.users.get", user_in),
            plain_user,
            floor_user,
        ),
    ]
    ours = calls[0].ours().data
    if ours["alerts"] != plain_alerts() or ours["count"] != 10:
        raise RuntimeError("the two sides disagree on netskope.alerts.list")
    if ours["alerts"] != floor_alerts() or calls[1].ours().data["uuid"] != floor_user()["uuid"]:
        raise RuntimeError("soarpack and the transport floor disagree")
    if calls[1].ours().data["uuid"] != plain_user()["uuid"]:
        raise RuntimeError("the two sides disagree on lacework_edge.users.get")
    return calls, [netskope, lacework]


def per_call_us(func: Callable[[], Any], iterations: int) -> float:
    started = time.perf_counter()
    for _ in range(iterations):
        func()
    return (time.perf_counter() - started) / iterations * 1e6


def stages(engine: Engine, call: Call, iterations: int) -> dict[str, float]:
    """µs per call of each stage of `call`, timed alone on a warm engine."""
    spec = engine.pack.action(call.action)
    store = engine.pack.schemas
    client = engine.client(spec.connection)
    data = call.ours().data
    filled = engine.validate_inputs(spec, call.inputs)

    def request() -> Any:
        # What the declared request sends, straight through the connection's client.
        if spec.name == "netskope.alerts.list":
            params = {k: filled[k] for k in ("timeperiod", "limit", "skip")}
            return client.request(
                "POST", "/api/v1/alerts", side_effect="read", calls=[], params=params
            )
        return client.request("GET", "/api/v1/users/u1", side_effect="read", calls=[])

    return {
        "input validation": per_call_us(
            lambda: engine.validate_inputs(spec, call.inputs), iterations
        ),
        "client request (with httpx)": per_call_us(request, iterations),
        "output check": per_call_us(lambda: store.errors(spec.output, data), iterations),
    }


def profile_areas(calls: list[Call], iterations: int) -> dict[str, float]:
    """Share (%) of invoke time by area, from cProfile's own-time per function."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(iterations):
        for call in calls:
            call.ours()
    profiler.disable()
    profiler.create_stats()
    totals: dict[str, float] = {}
    for (path, _line, _name), (_cc, _nc, own, _cum, _callers) in profiler.stats.items():
        area = next((name for key, name in AREAS if key in path), "other (Python, stdlib)")
        totals[area] = totals.get(area, 0.0) + own
    whole = sum(totals.values()) or 1.0
    ranked = sorted(totals.items(), key=lambda kv: -kv[1])
    return {area: own / whole * 100 for area, own in ranked}


def run(
    iterations: int = DEFAULT_ITERATIONS, rounds: int = DEFAULT_ROUNDS, pack: Pack | None = None
) -> dict[str, Any]:
    canned = Canned()
    transport = canned.transport()
    pack = pack or Pack.load()
    started = time.perf_counter()
    engine = Engine(
        pack,
        Config(env=SETTINGS_ENV),
        transports={"netskope": transport, "lacework_edge": transport},
    )
    with engine:
        calls, plain_clients = make_calls(engine, transport)
        first_ms = (time.perf_counter() - started) * 1000
        results: list[dict[str, Any]] = []
        for call in calls:
            per_call_us(call.ours, iterations // 5 or 1)  # warm-up
            per_call_us(call.plain, iterations // 5 or 1)
            per_call_us(call.floor, iterations // 5 or 1)
            ours: list[float] = []
            plain: list[float] = []
            floor: list[float] = []
            log(f"{call.action}: {rounds} rounds of {iterations} calls a side")
            for _ in range(rounds):
                ours.append(per_call_us(call.ours, iterations))
                plain.append(per_call_us(call.plain, iterations))
                floor.append(per_call_us(call.floor, iterations))
            ours_us, plain_us = statistics.median(ours), statistics.median(plain)
            floor_us = statistics.median(floor)
            ratios = [o / p for o, p in zip(ours, plain, strict=True)]
            results.append(
                {
                    "label": call.label,
                    "action": call.action,
                    "ours_us": ours_us,
                    "httpx_us": plain_us,
                    "ratio": statistics.median(ratios),
                    "overhead_us": ours_us - plain_us,
                    "floor_us": floor_us,
                    # soarpack's own work: what it adds to handing the request to httpx's
                    # transport (the median of the rounds' own differences).
                    "above_floor_us": statistics.median(
                        o - f for o, f in zip(ours, floor, strict=True)
                    ),
                    "stages_us": stages(engine, call, iterations),
                }
            )
        log("profiling ...")
        areas = profile_areas(calls, max(1, iterations // 2))
        for client in plain_clients:
            client.close()
    worst = max(r["ratio"] for r in results)
    return {
        # The worst of the calls: one figure that holds for each of them.
        "invoke_overhead_ratio": worst,
        "invoke_calls": results,
        "invoke_profile_pct": areas,
        "invoke_first_call_ms": first_ms,
        "invoke_iterations": iterations,
        "invoke_rounds": rounds,
        "invoke_target": TARGET_RATIO,
        "invoke_met": worst <= TARGET_RATIO,
    }


def render_table(r: dict[str, Any]) -> str:
    verdict = "met" if r["invoke_met"] else "NOT met"
    lines = [
        f"invoke overhead: Engine.invoke vs plain httpx, same MockTransport, "
        f"median of {r['invoke_rounds']} rounds x {r['invoke_iterations']} calls",
    ]
    rows = [("", "soarpack µs", "httpx µs", "ratio", "floor µs", "above floor µs")]
    for c in r["invoke_calls"]:
        rows.append(
            (
                c["label"],
                f"{c['ours_us']:,.0f}",
                f"{c['httpx_us']:,.0f}",
                f"{c['ratio']:.2f}x",
                f"{c['floor_us']:,.0f}",
                f"{c['above_floor_us']:,.0f}",
            )
        )
    width = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append(
            "  ".join(
                [row[0].ljust(width[0])]
                + [v.rjust(w) for v, w in zip(row[1:], width[1:], strict=True)]
            )
        )
    lines.append(
        f"target <= {TARGET_RATIO:.2f}x (worst call): {r['invoke_overhead_ratio']:.2f}x, {verdict}"
    )
    lines.append(
        "floor: the same request handed to the httpx transport directly, no client "
        "(soarpack sends that way too; httpx.Client adds redirect, cookie and auth layers)"
    )
    lines.append("stages timed alone (µs per call):")
    for c in r["invoke_calls"]:
        shown = ", ".join(f"{k} {v:,.0f}" for k, v in c["stages_us"].items())
        lines.append(f"  {c['action']}: {shown}")
    shown = ", ".join(f"{k} {v:.0f}%" for k, v in r["invoke_profile_pct"].items() if v >= 1)
    lines.append(f"where invoke time goes (cProfile, own time): {shown}")
    lines.append(f"first call, engine and clients built: {r['invoke_first_call_ms']:,.1f} ms")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.invoke_overhead",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    args = parser.parse_args(argv)
    result = run(max(1, args.iterations), max(1, args.rounds))
    print(json.dumps(result, indent=2) if args.json else render_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
