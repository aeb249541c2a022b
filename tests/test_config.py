"""Connection settings from file and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from soarpack.config import Config
from soarpack.errors import ConfigError
from soarpack.pack import Pack
from tests.conftest import CANARY


def settings(pack: Pack, config: Config):  # type: ignore[no-untyped-def]
    return config.settings(pack.connection("netskope"), pack.schemas)


def test_environment_variables_configure_a_connection(pack: Pack) -> None:
    env = {
        "SOARPACK_NETSKOPE_BASE_URL": "https://t.goskope.com",
        "SOARPACK_NETSKOPE_TOKEN": CANARY,
        "SOARPACK_NETSKOPE_READ_TIMEOUT": "12.5",
        "SOARPACK_NETSKOPE_MAX_ATTEMPTS": "2",
        "SOARPACK_NETSKOPE_VERIFY_TLS": "true",
    }
    got = settings(pack, Config(env=env))
    assert got.get("base_url") == "https://t.goskope.com"
    assert got.get("read_timeout") == 12.5 and got.get("max_attempts") == 2
    assert got.get("connect_timeout") == 10  # default from schemas/common/connection.json
    assert got.secret("token") == CANARY
    assert "token" not in got.values and CANARY not in repr(got)


def test_config_file_with_env_references_and_env_override(pack: Pack, tmp_path: Path) -> None:
    path = tmp_path / "soarpack.yaml"
    path.write_text(
        "connections:\n  netskope:\n    base_url: https://file.goskope.com\n    token: ${MY_TOKEN}\n"
        "    read_timeout: 30\n"
    )
    got = settings(
        pack, Config(path, env={"MY_TOKEN": CANARY, "SOARPACK_NETSKOPE_READ_TIMEOUT": "5"})
    )
    assert got.get("base_url") == "https://file.goskope.com"
    assert got.secret("token") == CANARY and got.get("read_timeout") == 5.0


def test_missing_env_reference_is_named(pack: Pack, tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("connections:\n  netskope:\n    token: ${NOT_SET_ANYWHERE}\n")
    with pytest.raises(ConfigError, match=r"connections.netskope.token .* \$\{NOT_SET_ANYWHERE\}"):
        settings(pack, Config(path, env={}))


def test_missing_settings_are_listed_with_the_variables_to_set(pack: Pack) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(pack, Config(env={}))
    text = str(caught.value)
    assert "base_url: is required" in text and "token: is required" in text
    assert "SOARPACK_NETSKOPE_<SETTING>" in text


def test_invalid_secret_value_is_never_echoed(pack: Pack) -> None:
    env = {"SOARPACK_NETSKOPE_BASE_URL": "https://t.goskope.com", "SOARPACK_NETSKOPE_TOKEN": "abc"}
    with pytest.raises(ConfigError) as caught:
        settings(pack, Config(env=env))
    assert "token: is not a valid value" in str(caught.value) and "abc" not in str(caught.value)


def test_tls_off_needs_an_explicit_acknowledgement(pack: Pack) -> None:
    env = {
        "SOARPACK_NETSKOPE_BASE_URL": "https://t.goskope.com",
        "SOARPACK_NETSKOPE_TOKEN": CANARY,
        "SOARPACK_NETSKOPE_VERIFY_TLS": "false",
    }
    with pytest.raises(ConfigError, match="allow_insecure_tls"):
        settings(pack, Config(env=env))
    env["SOARPACK_NETSKOPE_ALLOW_INSECURE_TLS"] = "true"
    assert settings(pack, Config(env=env)).get("verify_tls") is False


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("connections: [1, 2", "not valid YAML", id="bad-yaml"),
        pytest.param("- a\n- b\n", "must be a mapping", id="not-a-mapping"),
        pytest.param(
            "!!python/object/apply:os.system ['true']\n", "not valid YAML", id="custom-tag-refused"
        ),
        pytest.param(
            "connections:\n  netskope: 5\n", "must be a mapping", id="connection-not-mapping"
        ),
    ],
)
def test_bad_config_files(pack: Pack, tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        settings(pack, Config(path, env={}))


def test_unknown_setting_is_rejected(pack: Pack) -> None:
    env = {"SOARPACK_NETSKOPE_BASE_URL": "https://t.goskope.com", "SOARPACK_NETSKOPE_TOKEN": CANARY}
    cfg = Config(env=env)
    cfg.data = {"connections": {"netskope": {"tokn": "x"}}}
    with pytest.raises(ConfigError, match="tokn"):
        settings(pack, cfg)


def test_bad_env_number(pack: Pack) -> None:
    env = {"SOARPACK_NETSKOPE_READ_TIMEOUT": "soon"}
    with pytest.raises(ConfigError, match="SOARPACK_NETSKOPE_READ_TIMEOUT must be a number"):
        settings(pack, Config(env=env))
