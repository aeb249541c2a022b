"""The Celery coordinator refuses a destructive action without its target before any
task is sent (issue 17, section 1): no worker, and so no vendor, ever sees it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from soarpack import errors
from soarpack.config import Config
from soarpack.pack import Pack
from soarpack.playbook import run_playbook
from soarpack.workers.dispatch import CeleryEngine
from soarpack.workers.redis_server import RedisServer
from soarpack.workers.signing import TASK_KEY_ENV, new_task_key
from tests.workers.conftest import RedisMonitor

BOOK = """
name: delete-given
description: Deletes the devices it is given.
inputs:
  type: object
  required: [devices]
  properties: {devices: {type: array}}
steps:
  - id: delete
    action: lacework_edge.devices.delete
    with: {devices: "${{ inputs.devices }}"}
    approval: none
"""


@pytest.fixture
def coordinator(redis_server: RedisServer, pack: Pack) -> Iterator[CeleryEngine]:
    # No worker reads this broker: a task that were sent would only wait there.
    engine = CeleryEngine(pack, Config(env={TASK_KEY_ENV: new_task_key()}), broker=redis_server.url)
    yield engine
    engine.close()


def received_before_a_marker(monitor: RedisMonitor, url: str) -> str:
    """Every command Redis ran before a marker written now. Redis streams commands to
    MONITOR in the order it runs them, so a task sent earlier would show before it."""
    client = redis.Redis.from_url(url)
    try:
        client.set("soarpack-test-marker", "1")
    finally:
        client.close()
    give_up = time.monotonic() + 10
    while "soarpack-test-marker" not in monitor.text() and time.monotonic() < give_up:
        time.sleep(0.05)
    text = monitor.text()
    assert "soarpack-test-marker" in text, "the monitor saw nothing"
    return text


@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param({}, id="none"),
        pytest.param({"devices": []}, id="empty-list"),
        pytest.param({"devices": [{"uuid": "d-1", "user_uuid": ""}]}, id="empty-user"),
    ],
)
def test_the_coordinator_refuses_before_sending_a_task(
    redis_server: RedisServer, coordinator: CeleryEngine, inputs: dict[str, Any]
) -> None:
    monitor = RedisMonitor(redis_server.url)
    try:
        with pytest.raises(errors.InputError) as caught:
            coordinator.invoke("lacework_edge.devices.delete", inputs)
        assert any(f.startswith("/devices") for f in caught.value.fields)
        assert "devices.delete" not in received_before_a_marker(monitor, redis_server.url)
    finally:
        monitor.close()


def test_a_playbook_step_on_workers_fails_as_bad_input_and_sends_no_task(
    redis_server: RedisServer, coordinator: CeleryEngine, tmp_path: Path
) -> None:
    path = tmp_path / "delete-given.yaml"
    path.write_text(BOOK, encoding="utf-8")
    monitor = RedisMonitor(redis_server.url)
    try:
        result = run_playbook(
            path, {"devices": []}, engine=coordinator, runs_dir_path=tmp_path / "runs"
        )
        assert result.status == "failed" and result.exit_code == 3
        assert result.failed_step is not None and result.failed_step["type"] == "InputError"
        assert "devices.delete" not in received_before_a_marker(monitor, redis_server.url)
    finally:
        monitor.close()
