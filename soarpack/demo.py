"""`soarpack demo` and `soarpack sandbox serve`.

The demo starts the sandbox on 127.0.0.1, points the netskope connection at it over
real HTTP, and runs the pack's actions the way a responder would: test the
connection, find who triggers DLP alerts, look at their devices, and show what
happens on bad input and on a rate limit; then it asks the simulated MetaAccess
account (under /metaaccess) which devices changed status. It reads no user
configuration.
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.errors import ConfigError, ConflictError, InputError
from soarpack.pack import Pack
from soarpack.redact import register_secret
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import LACEWORK_EDGE_PREFIX, METAACCESS_PREFIX
from soarpack.sandbox.metaaccess_state import METAACCESS_CLIENT_ID

SANDBOX_TOKEN_ENV = "SOARPACK_SANDBOX_TOKEN"


def run_demo(
    pack_dir: str | None = None, token: str | None = None, out: TextIO | None = None
) -> int:
    out = out or sys.stdout
    token = token or secrets.token_urlsafe(24)
    register_secret(token)
    state = SandboxState(token=token)
    with start_server(create_sandbox_app(state)) as server:
        env = {
            "SOARPACK_NETSKOPE_BASE_URL": server.base_url,
            "SOARPACK_NETSKOPE_TOKEN": token,
            "SOARPACK_NETSKOPE_V2_BASE_URL": server.base_url,
            "SOARPACK_NETSKOPE_V2_TOKEN": token,
            # Client credentials: the demo obtains its MetaAccess token through OAuth.
            "SOARPACK_METAACCESS_BASE_URL": server.base_url + METAACCESS_PREFIX,
            "SOARPACK_METAACCESS_CLIENT_ID": METAACCESS_CLIENT_ID,
            "SOARPACK_METAACCESS_CLIENT_SECRET": token,
            # The Lacework Edge tenant takes the same token as its API key.
            "SOARPACK_LACEWORK_EDGE_BASE_URL": server.base_url + LACEWORK_EDGE_PREFIX,
            "SOARPACK_LACEWORK_EDGE_ACCOUNT": "acme",
            "SOARPACK_LACEWORK_EDGE_API_KEY": token,
        }
        with Engine(Pack.load(pack_dir), Config(env=env)) as engine:
            _Demo(engine, state, out).run(server.base_url)
    return 0


class _Demo:
    def __init__(self, engine: Engine, state: SandboxState, out: TextIO) -> None:
        self.engine = engine
        self.state = state
        self.out = out
        self.invoked = 0
        self.http_calls = 0
        self.last_urls: list[str] = []

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def invoke(self, action: str, inputs: dict[str, Any]) -> dict[str, Any]:
        result = self.engine.invoke(action, inputs)
        self.invoked += 1
        self.http_calls += len(result.calls)
        self.last_urls = [f"{c.method} {c.url}" for c in result.calls]
        statuses = " ".join(str(c.status) for c in result.calls)
        self.say(
            f"  -> {action}: {len(result.calls)} HTTP call(s) [{statuses}] in {result.duration_ms:.0f} ms"
        )
        data: dict[str, Any] = result.data
        return data

    def run(self, base_url: str) -> None:
        started = time.perf_counter()
        self.say(
            f"soarpack demo: a simulated Netskope tenant is listening on {base_url} (loopback only)"
        )
        self.say(
            "Every step below is a real action invocation over HTTP: validated, sent, checked.\n"
        )

        self.say("1. Test the connection (what a SOAR platform's Test button runs)")
        probe = self.invoke("netskope.connection.test", {})
        self.say(f"   connection ok, answered in {probe['latency_ms']:.0f} ms\n")

        self.say("2. Who triggered the most DLP alerts in the last 30 days?")
        report = self.invoke(
            "netskope.alerts.report",
            {"query": "alert_type eq 'DLP'", "groupby": "user", "timeperiod": 2592000},
        )
        top = report["rows"][:5]
        self.table([[r.get("user", "?"), r["count"]] for r in top], ["user", "DLP alerts"])
        suspect = str(top[0]["user"])

        self.say(f"\n3. {suspect}'s unacknowledged DLP alerts (last 30 days, newest first)")
        alerts = self.invoke(
            "netskope.alerts.list",
            {"timeperiod": 2592000, "type": "DLP", "acked": False, "user": suspect, "limit": 5},
        )
        self.table(
            [
                [
                    _when(a.get("timestamp")),
                    a.get("alert_name", ""),
                    a.get("file_name", ""),
                    a["_id"],
                ]
                for a in alerts["alerts"]
            ],
            ["time (UTC)", "alert", "file", "alert id"],
        )

        self.say(f"\n4. The devices {suspect} uses (client codes decoded to names)")
        clients = self.invoke("netskope.clients.list", {"username": suspect})
        rows = []
        for client in clients["clients"]:
            host = client.get("host_info", {})
            user: dict[str, Any] = next(
                (u for u in client.get("users", []) if u.get("username") == suspect), {}
            )
            rows.append(
                [
                    host.get("hostname", ""),
                    host.get("os_name") or f"unknown code {host.get('os')}",
                    user.get("device_classification_status_name") or "?",
                    (client.get("last_event") or {}).get("event_name") or "?",
                ]
            )
        self.table(rows, ["hostname", "os", "classification", "last event"])

        self.say("\n5. The whole client inventory, following limit/skip pages (100 per request)")
        inventory = self.invoke("netskope.clients.list", {"all_pages": True, "limit": 100})
        unmanaged = sum(
            1
            for c in inventory["clients"]
            if any(
                u.get("device_classification_status_name") == "unmanaged"
                for u in c.get("users", [])
            )
        )
        flagged = sum(1 for c in inventory["clients"] if c.get("unknown_codes"))
        self.say(
            f"   {inventory['count']} clients in {inventory['paging']['pages']} pages; {unmanaged} have an "
            f"unmanaged user; {flagged} carry a code the vendor's mapping does not name (kept, flagged)\n"
        )

        self.say("6. Bad input is refused before anything is sent")
        before = len(self.state.logged_requests())
        try:
            self.engine.invoke(
                "netskope.alerts.list", {"timeperiod": 86400, "starttime": 1700000000}
            )
        except InputError as error:
            for problem in error.errors:
                self.say(f"   refused: {problem}")
        sent = len(self.state.logged_requests()) - before
        self.say(f"   requests that reached the tenant: {sent}\n")

        self.say("7. The tenant answers 429 with Retry-After: 1; the call waits and retries")
        self.state.faults.push({"status": 429, "retry_after": 1})
        self.invoke("netskope.alerts.list", {"timeperiod": 86400, "limit": 1})

        self.say(
            "\n8. Export every DLP alert with the checkpointed REST v2 ingest, then run it again"
        )
        with tempfile.TemporaryDirectory(prefix="soarpack-demo-") as scratch:
            inputs = {
                "streams": ["alerts/dlp"],
                "output_dir": f"{scratch}/out",
                "state_dir": f"{scratch}/state",
            }
            for run in ("first run", "second run"):
                [stream] = self.invoke("netskope.dataexport.ingest", inputs)["streams"]
                self.say(
                    f"   {run}: {stream['records']:,} records in {stream['pages']} page(s) "
                    f"(index {stream['index']}), stopped: {stream['stopped']}"
                )
            lines = sum(
                path.read_bytes().count(b"\n") for path in Path(scratch, "out").glob("*.jsonl")
            )
            self.say(
                f"   {lines:,} lines on disk: the second run found nothing new, and nothing twice"
            )

        self.say("\n9. OPSWAT MetaAccess: devices whose status changed in the last day, every page")
        changed = self.invoke(
            "metaaccess.devices.status_changed", {"age": 86400, "all_pages": True, "limit": 50}
        )
        paging = changed["paging"]
        self.say(
            f"   {changed['monitored_count']} monitored and {changed['deleted_count']} deleted "
            f"devices in {paging['pages']} page(s); "
            + (
                "the next page was answered 413: the end"
                if paging["end_reached"]
                else "more remain"
            )
        )
        critical = [d for d in changed["monitored_devices"] if d.get("severity") == "critical"]
        self.table(
            [
                [d["device_id"], d.get("status", "?"), _critical_issues(d.get("issue"))]
                for d in critical[:5]
            ],
            ["device id", "status", "critical issues"],
        )
        self.say("   the token was obtained with OAuth client credentials; as recorded:")
        for url in self.last_urls[:2]:
            self.say(f"     {url}")

        self._lacework_edge()

        seen = len(self.state.logged_requests())
        elapsed = time.perf_counter() - started
        self.say(
            f"\nDone: {self.invoked} actions, {self.http_calls} HTTP requests "
            f"(the tenant logged {seen}), {elapsed:.1f} s."
        )
        self.say("Next: `soarpack actions list`, `soarpack actions describe netskope.alerts.list`.")

    def _lacework_edge(self) -> None:
        self.say(
            "\n10. Lacework Edge: acknowledge the oldest open alert; suspend a user and reactivate them"
        )
        found = self.invoke("lacework_edge.alerts.query_open", {"start_time_ms": 0})
        self.say(f"   {found['count']} open or acknowledged alerts")
        if found["alerts"]:
            alert = min(found["alerts"], key=lambda a: a.get("create_time", 0))
            acked = self.invoke("lacework_edge.alerts.ack", {"alert_uuid": alert["uuid"]})
            self.say(
                f"   acked {alert['uuid']}: alert_update_time "
                f"{acked['previous_update_time']} -> {acked['alert_update_time']}"
            )
            try:
                self.engine.invoke(
                    "lacework_edge.alerts.ack",
                    {
                        "alert_uuid": alert["uuid"],
                        "alert_update_time": acked["previous_update_time"],
                    },
                )
            except ConflictError as conflict:
                self.say(f"   the same ack with the old update time is refused: {conflict.status}")
        user = self.invoke("lacework_edge.users.suspend", {"user_uuid": "ex-users-1"})
        self.say(
            f"   user ex-users-1: {user['previous_status_name']} -> {user['status_name']} (read back)"
        )
        self.invoke("lacework_edge.users.reactivate", {"user_uuid": "ex-users-1"})
        self.say("   and reactivated; the API key was exchanged for a JWT once (TokenLogin)")

    def table(self, rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
        if not rows:
            self.say("   (none)")
            return
        cells = [[str(c) for c in row] for row in rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
        self.say("   " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        for row in cells:
            self.say("   " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _critical_issues(issue: Any) -> Any:
    """The critical issue count under either of the names MetaAccess documents."""
    if not isinstance(issue, dict):
        return "?"
    return issue.get("total_critical_issues", issue.get("total_critical_issue", "?"))


def _when(epoch: Any) -> str:
    return (
        time.strftime("%Y-%m-%d %H:%M", time.gmtime(int(epoch))) if isinstance(epoch, int) else "?"
    )


def serve_sandbox(
    port: int,
    seed: int,
    out: TextIO | None = None,
    *,
    rate_limit: bool = True,
    events_per_type: int | None = None,
) -> int:
    """Serve the simulator on 127.0.0.1:PORT until interrupted."""
    out = out or sys.stderr
    token = os.environ.get(SANDBOX_TOKEN_ENV)
    generated = token is None
    token = token or secrets.token_urlsafe(24)
    extra: dict[str, Any] = {"v2_rate_limit": rate_limit}
    if events_per_type is not None:
        extra["events_per_type"] = events_per_type
    state = SandboxState(token=token, seed=seed, **extra)
    try:
        server = start_server(create_sandbox_app(state), port=port)
    except OSError as exc:
        raise ConfigError(
            f"cannot serve the sandbox on 127.0.0.1:{port}: {exc.strerror or exc}"
        ) from None
    with server:
        print(
            f"sandbox: simulated Netskope tenant on {server.base_url} (seed {seed}); Ctrl-C stops it.",
            file=out,
        )
        print("Point soarpack at it:", file=out)
        print(f"  export SOARPACK_NETSKOPE_BASE_URL={server.base_url}", file=out)
        print(f"  export SOARPACK_NETSKOPE_V2_BASE_URL={server.base_url}", file=out)
        print(
            f"  export SOARPACK_METAACCESS_BASE_URL={server.base_url}{METAACCESS_PREFIX}",
            file=out,
        )
        print(f"  export SOARPACK_METAACCESS_CLIENT_ID={METAACCESS_CLIENT_ID}", file=out)
        print(
            f"  export SOARPACK_LACEWORK_EDGE_BASE_URL={server.base_url}{LACEWORK_EDGE_PREFIX}",
            file=out,
        )
        print("  export SOARPACK_LACEWORK_EDGE_ACCOUNT=acme", file=out)
        # The token doubles as MetaAccess's client secret (and its provisioned access_token).
        shown = token if generated else f'"${SANDBOX_TOKEN_ENV}"'
        for name in (
            "NETSKOPE_TOKEN",
            "NETSKOPE_V2_TOKEN",
            "METAACCESS_CLIENT_SECRET",
            "LACEWORK_EDGE_API_KEY",
        ):
            # A generated token is a throw-away one for a local simulator; set
            # SOARPACK_SANDBOX_TOKEN to choose one.
            print(f"  export SOARPACK_{name}={shown}", file=out)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("sandbox: stopped", file=out)
    return 0
