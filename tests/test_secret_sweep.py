"""Secret-leak sweep: canary secrets in every secret setting, every failure path, every
place output goes; no canary may appear anywhere, in any form (`tests/secret_search.py`
decodes each output every way a reader could before looking).

Covered: the demo (in-process, its output and journals), the CLI's error paths as
subprocesses (bad input, auth failure, 429, 5xx, a failing ingest, a failing playbook;
stdout, stderr with --debug tracebacks and DEBUG logs), the HTTP server's answers
(bodies and headers) and its logs on the same paths and for a failing run, every file
under the state and runs folders (journals, checkpoints, ingest output), and in-process
exception reprs. A fake vendor (the sandbox's `echo_credential` fault) quotes back the
credential it was sent in every form vendors echo: a configured token through the CLI
and a read-only key's HTTP answer, and a JWT obtained at run time through the CLI.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml

from soarpack import errors
from soarpack.cli.demo import run_demo
from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import connection_env
from soarpack.schemas import SECRET_KEY
from soarpack.server import build_service, create_app
from soarpack.server.auth import hash_key, new_key
from tests.conftest import REPO
from tests.secret_search import leaks

# The sandbox's one accepted credential, and ones it refuses (auth failure paths).
GOOD = "CANARY-good-5d1e9a7c3b"
REFUSED = "CANARY-refused-8b2f4e6a1d"
JWT = "CANARY-jwt-3c7a9e1f5b"
ACCESS = "CANARY-access-6e2b8d4f0a"
DEMO = "CANARY-demo-9f1b3d5e7c"
CANARIES = (GOOD, REFUSED, JWT, ACCESS, DEMO)


def test_no_canary_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state_dir = tmp_path / "state"
    runs = tmp_path / "runs"
    monkeypatch.setenv("SOARPACK_STATE_DIR", str(state_dir))
    monkeypatch.setenv("SOARPACK_RUNS_DIR", str(runs))
    captured: dict[str, str] = {}

    # Every x-secret setting of every connection gets a canary below; fail if one is added
    # to the manifest without being swept.
    pack = Pack.load(REPO)
    secret_settings = {
        (c.name, n)
        for c in pack.connections.values()
        for n, p in pack.schemas.properties(c.settings).items()
        if p.get(SECRET_KEY)
    }
    swept = {
        ("netskope", "token"),
        ("netskope_v2", "token"),
        ("metaaccess", "client_secret"),
        ("metaaccess", "access_token"),
        ("lacework_edge", "api_key"),
        ("lacework_edge", "jwt"),
    }
    assert secret_settings == swept

    out = io.StringIO()
    assert run_demo(str(REPO), token=DEMO, out=out) == 0
    captured["demo output"] = out.getvalue()

    sandbox = SandboxState(token=GOOD)
    with start_server(create_sandbox_app(sandbox)) as server:
        base = server.base_url
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("SOARPACK_")},
            "SOARPACK_STATE_DIR": str(state_dir),
            "SOARPACK_RUNS_DIR": str(runs),
            **connection_env(base, GOOD),
            "SOARPACK_NETSKOPE_MAX_ATTEMPTS": "1",
            "SOARPACK_NETSKOPE_V2_MAX_ATTEMPTS": "1",
            "SOARPACK_METAACCESS_CLIENT_SECRET": REFUSED,
            "SOARPACK_LACEWORK_EDGE_JWT": JWT,
        }

        def cli(label: str, *args: str, **extra: str | None) -> None:
            done = subprocess.run(
                [sys.executable, "-m", "soarpack", "--debug", "--log-level", "DEBUG", *args],
                env={k: v for k, v in {**env, **extra}.items() if v is not None},
                capture_output=True,
                text=True,
                timeout=60,
                cwd=tmp_path,
            )
            assert done.returncode != 0, f"{label}: expected a failure"
            captured[f"{label} stdout"] = done.stdout
            captured[f"{label} stderr"] = done.stderr

        alerts = ("invoke", "netskope.alerts.list", "--input", '{"timeperiod": 3600}')
        cli("bad input", "invoke", "netskope.alerts.list", "--input", '{"bogus": "x"}')
        cli("auth netskope", *alerts, SOARPACK_NETSKOPE_TOKEN=REFUSED)
        cli("auth metaaccess oauth", "invoke", "metaaccess.connection.test")
        cli(
            "auth metaaccess token",
            "invoke",
            "metaaccess.connection.test",
            SOARPACK_METAACCESS_CLIENT_ID="",
            SOARPACK_METAACCESS_CLIENT_SECRET="",
            SOARPACK_METAACCESS_ACCESS_TOKEN=ACCESS,
        )
        cli("auth lacework jwt", "invoke", "lacework_edge.connection.test")
        sandbox.faults.push({"status": 429, "retry_after": 0}, count=3)
        cli("429", *alerts)
        sandbox.faults.clear()
        sandbox.faults.push({"status": 500}, count=3)
        cli("5xx", *alerts)
        sandbox.faults.clear()
        ingest = '{"streams": ["alerts/dlp"], "output_dir": "' + str(tmp_path / "ingest") + '"}'
        cli(
            "failing ingest",
            "invoke",
            "netskope.dataexport.ingest",
            "--input",
            ingest,
            SOARPACK_NETSKOPE_V2_TOKEN=REFUSED,
        )
        # The careless vendor: a configured token, then a JWT the CLI obtains at run time
        # (no JWT configured: the API key is exchanged for one first).
        sandbox.faults.push({"echo_credential": True}, count=3)
        cli("echo netskope token", *alerts)
        sandbox.faults.clear()
        sandbox.lacework_edge.faults.push({"echo_credential": True}, match="accounts.get")
        cli(
            "echo lacework runtime jwt",
            "invoke",
            "lacework_edge.connection.test",
            SOARPACK_LACEWORK_EDGE_JWT=None,
        )
        sandbox.lacework_edge.faults.clear()
        cli(
            "failing playbook",
            "run",
            "netskope-dlp-alerts-triage",
            "--input",
            "timeperiod=3600",
            SOARPACK_NETSKOPE_TOKEN=REFUSED,
        )

        # In process: the exception itself, its repr and its rendering.
        refused = {**env, "SOARPACK_NETSKOPE_TOKEN": REFUSED}
        with Engine(pack, Config(env=refused)) as engine:
            with pytest.raises(errors.SoarpackError) as caught:
                engine.invoke("netskope.alerts.list", {"timeperiod": 3600})
            exc = caught.value
            captured["exception"] = f"{exc!r} {exc} {exc.to_dict()} {exc.args!r} {vars(exc)!r}"
            captured["client repr"] = repr(engine.client("netskope")) + repr(
                engine.client("netskope").settings
            )

        captured.update(server_answers(pack, env, sandbox, tmp_path / "server"))

    for path in sorted(tmp_path.rglob("*")):
        if path.is_file():
            captured[str(path.relative_to(tmp_path))] = path.read_bytes().decode("utf-8", "replace")
    assert any(k.startswith("runs") for k in captured), "the playbook journal was swept"

    # What the fake vendor quoted back: the configured token, and a JWT issued at run time.
    echoed = set(sandbox.faults.echoed) | set(sandbox.lacework_edge.faults.echoed)
    assert GOOD in echoed and JWT in echoed
    runtime = echoed - set(CANARIES)
    assert runtime, "a JWT obtained at run time was echoed"
    found = [
        (where, secret, form)
        for where, text in captured.items()
        for secret in (*CANARIES, *sorted(runtime))
        for form in leaks(secret, text)
    ]
    assert found == [], found
    echoes = [k for k in captured if "echo" in k]
    assert all("***" in captured[k] for k in echoes), "each echo reached an output, masked"


def server_answers(
    pack: Pack, env: dict[str, str], sandbox: SandboxState, folder: Path
) -> dict[str, str]:
    """The action server on the same failure paths: every answer and every log line."""
    folder.mkdir()
    key, reader = new_key(), new_key()
    config = folder / "server.yaml"
    scope = {"side_effects": ["read", "write", "destructive"], "playbooks": ["*"]}
    read_only = {"id": "reader", "sha256": hash_key(reader), "side_effects": ["read"]}
    config.write_text(
        yaml.safe_dump(
            {
                "server": {
                    "keys": [{"id": "sweep", "sha256": hash_key(key), **scope}, read_only],
                    "runs_dir": str(folder / "runs"),
                    "action_timeout": 10,
                }
            }
        )
    )
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    loggers = [logging.getLogger(name) for name in ("soarpack.server", "soarpack")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    found: dict[str, str] = {}
    # MetaAccess refuses its client secret; the other vendors take their credentials.
    configured = Config(config, env=env)
    service = build_service(pack, configured, engine=Engine(pack, configured))
    alerts = "/actions/netskope.alerts.list"
    try:
        with (
            start_server(create_app(service)) as server,
            httpx.Client(
                base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
            ) as client,
        ):

            def call(label: str, route: str, body: object, as_key: str = key) -> httpx.Response:
                answer = client.post(
                    route, json=body, headers={"Authorization": f"Bearer {as_key}"}
                )
                headers = "\n".join(f"{k}: {v}" for k, v in answer.headers.multi_items())
                found[f"server {label}"] = f"{answer.status_code}\n{headers}\n{answer.text}"
                return answer

            call("bad input", alerts, {"bogus": "x"})
            call("auth metaaccess", "/actions/metaaccess.connection.test", {})
            call("lacework with jwt", "/actions/lacework_edge.connection.test", {})
            sandbox.faults.push({"status": 429, "retry_after": 0}, count=3)
            call("429", alerts, {"timeperiod": 3600})
            sandbox.faults.clear()
            # A read-only key's answer when the vendor echoes the token, or the JWT.
            sandbox.faults.push({"echo_credential": True}, count=3)
            call("echo netskope, read-only key", alerts, {"timeperiod": 3600}, reader)
            sandbox.faults.clear()
            sandbox.lacework_edge.faults.push({"echo_credential": True}, match="accounts.get")
            call(
                "echo lacework, read-only key", "/actions/lacework_edge.connection.test", {}, reader
            )
            sandbox.lacework_edge.faults.clear()
            sandbox.faults.push({"status": 500}, count=50)
            call("5xx", alerts, {"timeperiod": 3600})
            run = call(
                "failing run",
                "/playbooks/netskope-dlp-alerts-triage/runs",
                {"inputs": {"timeperiod": 3600}},
            ).json()
            for _ in range(200):
                shown = client.get(f"/runs/{run['run_id']}")
                if shown.json()["status"] not in ("running", "interrupted"):
                    break
                time.sleep(0.05)
            found["server run"] = shown.text
            sandbox.faults.clear()
    finally:
        service.close()
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
    found["server logs"] = logs.getvalue()
    assert "failed" in found["server run"], found["server run"][:500]
    return found
