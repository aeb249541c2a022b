"""A connection's settings as the HTTP layer uses them: the defaults of the transport
settings are those of schemas/common/connection.json, their one home."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from soarpack.config import ConnectionSettings
from soarpack.http.connection import Limits, setting, setting_defaults

COMMON = Path(__file__).resolve().parents[2] / "schemas" / "common" / "connection.json"


def _schema_defaults() -> dict[str, object]:
    properties = json.loads(COMMON.read_text("utf-8"))["properties"]
    return {name: prop["default"] for name, prop in properties.items() if "default" in prop}


def test_the_defaults_are_the_schemas() -> None:
    assert setting_defaults() == _schema_defaults()
    for name in (
        "connect_timeout",
        "read_timeout",
        "total_timeout",
        "max_attempts",
        "max_retry_wait",
        "max_response_bytes",
        "verify_tls",
    ):
        assert name in setting_defaults(), name


def test_settings_made_in_code_get_the_schema_defaults() -> None:
    limits = Limits.of(ConnectionSettings("vendor", {"base_url": "https://v.example"}, {}))
    want = _schema_defaults()
    assert limits.timeout.connect == limits.timeout.pool == want["connect_timeout"]
    assert limits.timeout.read == limits.timeout.write == want["read_timeout"]
    assert (
        limits.max_attempts,
        limits.max_retry_wait,
        limits.total_timeout,
        limits.max_response_bytes,
    ) == (
        want["max_attempts"],
        want["max_retry_wait"],
        want["total_timeout"],
        want["max_response_bytes"],
    )


@pytest.mark.parametrize(("name", "value"), [("max_attempts", 1), ("verify_tls", False)])
def test_a_value_set_wins_over_the_default(name: str, value: object) -> None:
    settings = ConnectionSettings("vendor", {name: value}, {})
    assert setting(settings, name) == value


def test_phase_timeouts_are_cut_to_what_is_left() -> None:
    limits = Limits.of(ConnectionSettings("vendor", {"read_timeout": 60}, {}))
    assert limits.phase_timeout(1000) is limits.timeout
    cut = limits.phase_timeout(2.5)
    assert (cut.connect, cut.read, cut.write, cut.pool) == (2.5, 2.5, 2.5, 2.5)
