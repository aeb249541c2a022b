"""Connection settings: from a YAML config file and/or environment variables.

Config file (`--config FILE`), values may reference `${ENV_VAR}`:

    connections:
      netskope:
        base_url: https://example.goskope.com
        token: ${NETSKOPE_TOKEN}

Environment variables `SOARPACK_<CONNECTION>_<SETTING>` (e.g. `SOARPACK_NETSKOPE_TOKEN`)
override the file. Secrets are never taken from command-line arguments. Every secret
is registered for redaction the moment it is read.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soarpack.errors import ConfigError
from soarpack.manifest import ConnectionSpec
from soarpack.redact import register_secret
from soarpack.schemas import SECRET_KEY, SchemaStore

CONFIG_ENV = "SOARPACK_CONFIG"
STATE_DIR_ENV = "SOARPACK_STATE_DIR"
_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Schema rules whose messages name settings but never quote a value.
_NAMES_ONLY_RULES = frozenset({"required", "oneOf", "anyOf"})


def state_dir(explicit: str | Path | None, env: Mapping[str, str] | None = None) -> Path:
    """Where soarpack keeps what outlives a process (ingest checkpoints and locks, run
    journals, rate-limit windows): `explicit` (--state-dir), else $SOARPACK_STATE_DIR,
    else $XDG_STATE_HOME/soarpack or ~/.local/state/soarpack."""
    env = os.environ if env is None else env
    if explicit:
        return Path(explicit).expanduser()
    if env.get(STATE_DIR_ENV):
        return Path(env[STATE_DIR_ENV]).expanduser()
    base = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "soarpack"


@dataclass(frozen=True)
class ConnectionSettings:
    """Validated settings of one connection. Secrets are kept apart and never shown."""

    connection: str
    values: Mapping[str, Any]
    secrets: Mapping[str, str] = field(repr=False)

    def __repr__(self) -> str:
        shown = {**self.values, **{k: "***" for k in self.secrets}}
        return f"ConnectionSettings({self.connection!r}, {shown!r})"

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def secret(self, key: str) -> str:
        try:
            return self.secrets[key]
        except KeyError:
            raise ConfigError(
                f"Connection {self.connection!r} has no secret {key!r} set."
            ) from None


class Config:
    """Where settings come from: an optional YAML file plus an environment mapping."""

    def __init__(
        self, path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
    ):
        self.env: Mapping[str, str] = dict(os.environ if env is None else env)
        chosen = path or self.env.get(CONFIG_ENV)
        self.path = Path(chosen).expanduser() if chosen else None
        self.data = self._read_file()

    def _read_file(self) -> dict[str, Any]:
        if self.path is None:
            return {}
        # Here: `soarpack invoke` without a config file never needs yaml.
        import yaml

        from soarpack import yamlsafe

        try:
            # Capped, and without aliases: a 1.3 KB alias bomb here once ran until killed.
            text = yamlsafe.read_capped(self.path)
        except yamlsafe.FileTooLarge as exc:
            raise ConfigError(f"Config file {self.path} is {exc}.") from None
        except OSError as exc:
            raise ConfigError(f"Cannot read config file {self.path}: {exc.strerror}.") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"Config file {self.path} is not UTF-8 (bad byte at offset {exc.start})."
            ) from None
        if not text.strip():
            return {}
        try:
            data = yamlsafe.load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"Config file {self.path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(
                f"Config file {self.path} must be a mapping with a `connections` key."
            )
        return data

    def section(self, key: str) -> dict[str, Any]:
        """A top-level mapping of the config file (empty when absent)."""
        value = self.data.get(key) or {}
        if not isinstance(value, dict):
            raise ConfigError(f"`{key}` in {self.path} must be a mapping.")
        return value

    def setting(self, section: str, key: str) -> Any:
        """`section.key` of the file, its `${ENV_VAR}` references filled in (None if absent)."""
        return self._interpolate(self.section(section).get(key), f"{section}.{key}")

    def settings(self, spec: ConnectionSpec, schemas: SchemaStore) -> ConnectionSettings:
        """The connection's settings: file, then environment, then defaults; validated."""
        props = schemas.properties(spec.settings)
        secret_names = {n for n, p in props.items() if p.get(SECRET_KEY)}
        from_file = self.section("connections").get(spec.name) or {}
        if not isinstance(from_file, dict):
            raise ConfigError(f"`connections.{spec.name}` in {self.path} must be a mapping.")
        values: dict[str, Any] = {
            k: self._interpolate(v, f"connections.{spec.name}.{k}") for k, v in from_file.items()
        }
        prefix = f"SOARPACK_{spec.name.upper()}_"
        for name, prop in props.items():
            raw = self.env.get(prefix + name.upper())
            if raw is not None:
                values[name] = _coerce(raw, prop, prefix + name.upper())
        for name in secret_names:
            if isinstance(values.get(name), str):
                register_secret(values[name])
        values = schemas.apply_defaults(spec.settings, values)
        problems = schemas.errors(spec.settings, values)
        if problems:
            lines = []
            for p in problems:
                name = p.pointer.lstrip("/").split("/", 1)[0]
                # Never echo a secret's value, even a malformed one. Messages about which
                # settings go together (required, oneOf, anyOf) name settings, not values.
                why = (
                    "is not a valid value"
                    if name in secret_names and p.rule not in _NAMES_ONLY_RULES
                    else p.message
                )
                lines.append(f"  - {name or '/'}: {why} [{p.rule}]")
            where = f"{self.path} or " if self.path else ""
            raise ConfigError(
                f"Settings of connection {spec.name!r} are incomplete or invalid:\n"
                + "\n".join(lines),
                hint=f"Set them in {where}environment variables {prefix}<SETTING>.",
            )
        if values.get("verify_tls") is False and not values.get("allow_insecure_tls"):
            raise ConfigError(
                f"Connection {spec.name!r} turns TLS verification off without allow_insecure_tls: true.",
                hint="Prefer ca_bundle for a private CA; insecure TLS must be acknowledged explicitly.",
            )
        secrets = {k: values.pop(k) for k in list(values) if k in secret_names}
        return ConnectionSettings(spec.name, values, secrets)

    def _interpolate(self, value: Any, where: str) -> Any:
        if isinstance(value, str):

            def sub(match: re.Match[str]) -> str:
                name = match.group(1)
                if name not in self.env:
                    raise ConfigError(
                        f"{where} in {self.path} references ${{{name}}}, which is not set."
                    )
                return self.env[name]

            return _REF.sub(sub, value)
        if isinstance(value, dict):
            return {k: self._interpolate(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self._interpolate(v, where) for v in value]
        return value


def _coerce(raw: str, prop: Mapping[str, Any], var: str) -> Any:
    """Environment values are strings; give them the type the schema asks for."""
    kind = prop.get("type")
    try:
        if kind == "boolean":
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
    except ValueError:
        raise ConfigError(f"{var} must be a {kind}.") from None
    return raw
