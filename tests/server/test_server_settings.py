"""The `server:` config section: defaults, and errors that name the field, not the value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from soarpack.cli.workers import engine_for_server
from soarpack.config import Config
from soarpack.errors import ConfigError, ConnectionFailed
from soarpack.pack import Pack
from soarpack.server.auth import hash_key, new_key
from soarpack.server.settings import load_server_settings

GOOD_HASH = hash_key("spk_example")
RAW_KEY = "spk_this-is-a-raw-key-pasted-by-mistake"


def config_with(tmp_path: Path, server: Any, **sections: Any) -> Config:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"server": server, **sections}), encoding="utf-8")
    return Config(path, env={})


def test_defaults_give_a_read_only_key_no_playbooks_and_no_approvals(tmp_path: Path) -> None:
    settings = load_server_settings(
        config_with(tmp_path, {"keys": [{"id": "k", "sha256": GOOD_HASH}]})
    )
    [key] = settings.keys
    assert key.actions == ("*",)
    assert key.side_effects == ("read",)
    assert key.playbooks == ()
    assert key.approve is False
    assert (settings.max_body_bytes, settings.action_timeout, settings.executor) == (
        1_048_576,
        60.0,
        "local",
    )
    assert settings.anonymous.side_effects == ("read",)


def test_no_server_section_is_no_keys(tmp_path: Path) -> None:
    assert load_server_settings(Config(env={})).keys == ()


@pytest.mark.parametrize(
    ("server", "field"),
    [
        pytest.param({"keys": [{"id": "k", "sha256": RAW_KEY}]}, "server.keys.0.sha256", id="not a hash"),
        pytest.param({"keys": [{"id": "k", "sha256": GOOD_HASH, "key": RAW_KEY}]}, "server.keys.0.key", id="unknown field"),
        pytest.param({"keys": [{"sha256": GOOD_HASH}]}, "server.keys.0.id", id="no id"),
        pytest.param({"keys": [{"id": "k", "sha256": GOOD_HASH, "side_effects": ["delete"]}]}, "server.keys.0.side_effects.0", id="bad side effect"),
        pytest.param({"keys": [{"id": "k", "sha256": GOOD_HASH, "rate_per_minute": 0}]}, "server.keys.0.rate_per_minute", id="zero rate"),
        pytest.param({"keys": [{"id": "k", "sha256": GOOD_HASH}, {"id": "k", "sha256": hash_key("b")}]}, "same id", id="same id"),
        pytest.param({"executor": "threads"}, "server.executor", id="bad executor"),
        pytest.param({"max_body_bytes": 0}, "server.max_body_bytes", id="no body"),
        pytest.param({"action_timeout": -1}, "server.action_timeout", id="negative timeout"),
        pytest.param({"keys": "all"}, "server.keys", id="keys not a list"),
    ],
)  # fmt: skip
def test_a_bad_section_is_a_config_error_naming_the_field(
    tmp_path: Path, server: dict[str, Any], field: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_server_settings(config_with(tmp_path, server))
    assert field in str(caught.value)
    assert RAW_KEY not in str(caught.value)


def test_new_keys_are_long_random_and_hash_to_64_hex() -> None:
    keys = {new_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(len(k) >= 40 for k in keys)
    assert all(len(hash_key(k)) == 64 for k in keys)


def test_the_celery_executor_needs_a_broker(tmp_path: Path, pack: Pack) -> None:
    config = config_with(tmp_path, {"executor": "celery"})
    with pytest.raises(ConfigError, match="No Celery broker"):
        engine_for_server(pack, config, load_server_settings(config).executor)


def test_the_celery_executor_uses_the_configured_broker(tmp_path: Path, pack: Pack) -> None:
    config = config_with(
        tmp_path,
        {"executor": "celery"},
        workers={"broker": "redis://127.0.0.1:1/0", "task_key": "k" * 43},
    )
    # The Celery engine checks its broker at once: an unreachable one stops the start.
    with pytest.raises(ConnectionFailed, match=r"127\.0\.0\.1:1\b"):
        engine_for_server(pack, config, load_server_settings(config).executor)
