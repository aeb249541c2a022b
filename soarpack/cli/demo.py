"""`soarpack demo` and `soarpack sandbox serve`.

The demo starts the sandbox on 127.0.0.1 and points every connection at it over real
HTTP. It tests a connection, then runs the cross-vendor playbook the way a responder
would: Netskope DLP alerts and devices, MetaAccess posture, an approval (which the
demo grants, visibly), a Lacework Edge suspension and a note. Then it shows what
happens on bad input, on a rate limit, and with the checkpointed ingest. It reads no
user configuration; the run's journal goes to the usual runs directory.
"""

from __future__ import annotations

import json
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
from soarpack.errors import ConfigError, InputError
from soarpack.http.ratelimit import LocalWindows
from soarpack.pack import Pack
from soarpack.redact import register_secret
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import connection_env

SANDBOX_TOKEN_ENV = "SOARPACK_SANDBOX_TOKEN"
PLAYBOOK = "cross-vendor-response"
APPROVER = "demo-responder"


def run_demo(
    pack_dir: str | None = None, token: str | None = None, out: TextIO | None = None
) -> int:
    out = out or sys.stdout
    token = token or secrets.token_urlsafe(24)
    register_secret(token)
    state = SandboxState(token=token)
    with start_server(create_sandbox_app(state)) as server:
        env = connection_env(server.base_url, token)
        # The tenant lives and dies with this process: so do its rate-limit windows,
        # kept in memory rather than in the user's state dir.
        engine = Engine(Pack.load(pack_dir), Config(env=env), windows=LocalWindows())
        with engine:
            _Demo(engine, state, out).run(server.base_url)
    return 0


class _Demo:
    def __init__(self, engine: Engine, state: SandboxState, out: TextIO) -> None:
        self.engine = engine
        self.state = state
        self.out = out
        self.invoked = 0
        self.http_calls = 0
        self.steps_run = 0

    def say(self, text: str = "") -> None:
        print(text, file=self.out)

    def invoke(self, action: str, inputs: dict[str, Any]) -> dict[str, Any]:
        result = self.engine.invoke(action, inputs)
        self.invoked += 1
        self.http_calls += len(result.calls)
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

        self._playbook()

        self.say("3. Bad input is refused before anything is sent")
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

        self.say("4. The tenant answers 429 with Retry-After: 1; the call waits and retries")
        self.state.faults.push({"status": 429, "retry_after": 1})
        self.invoke("netskope.alerts.list", {"timeperiod": 86400, "limit": 1})

        self.say(
            "\n5. Export every DLP alert with the checkpointed REST v2 ingest, then run it again"
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

        seen = len(self.state.logged_requests())
        elapsed = time.perf_counter() - started
        self.say(
            f"\nDone: a {self.steps_run}-step playbook run and {self.invoked} more actions "
            f"({self.http_calls} HTTP requests by those; the tenants logged {seen} in all), "
            f"{elapsed:.1f} s."
        )
        self.say("Next: `soarpack actions list`, `soarpack actions describe netskope.alerts.list`.")

    def _playbook(self) -> None:
        from soarpack.cli.playbooks import LiveView
        from soarpack.playbook import approve, resume_run, run_playbook

        self.say("2. A cross-vendor playbook (playbooks/cross-vendor-response.yaml):")
        self.say("   Netskope DLP alerts and devices, MetaAccess posture, then, once a person")
        self.say("   approves, suspend the Lacework Edge user and note it on their alert.\n")
        live = LiveView(self.out, indent="   ")
        inputs = {"lacework_user_uuid": "ex-users-1", "lacework_alert_uuid": "ex-alerts-1"}
        run = run_playbook(PLAYBOOK, inputs, engine=self.engine, on_event=live)
        self.steps_run += len(run.steps)
        for waiting in run.waiting:
            self.say("\n   The run paused for that approval (exit code 10 on the command line).")
            self.say(f"   The demo approves as {APPROVER}, as `{waiting['approve']}` would,")
            approve(run.run_id, waiting["step"], by=APPROVER)
            self.say(f"   then resumes it (`soarpack run --resume {run.run_id}`):\n")
        if run.waiting:
            run = resume_run(run.run_id, engine=self.engine, on_event=live)
        self.say(f"\n   run {run.run_id}: {run.status}")
        self.table([[k, _short(v)] for k, v in run.outputs.items()], ["output", "value"])
        self.say(f"   its journal: `soarpack runs show {run.run_id}`\n")

    def table(self, rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
        if not rows:
            self.say("   (none)")
            return
        cells = [[str(c) for c in row] for row in rows]
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
        self.say("   " + "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
        for row in cells:
            self.say("   " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def _short(value: Any, width: int = 70) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= width else text[: width - 3] + "..."


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
        # The token doubles as MetaAccess's client secret (and its provisioned access_token).
        # A generated token is a throw-away one for a local simulator; set
        # SOARPACK_SANDBOX_TOKEN to choose one.
        shown = token if generated else f'"${SANDBOX_TOKEN_ENV}"'
        env = connection_env(server.base_url, token)
        settings = [(k, v) for k, v in env.items() if v != token]
        credentials = [(k, shown) for k, v in env.items() if v == token]
        for name, value in settings + credentials:
            print(f"  export {name}={value}", file=out)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("sandbox: stopped", file=out)
    return 0
