"""The config file's `server:` section, checked before the server starts.

    server:
      keys:
        - id: shuffle               # shown in access logs; never the key itself
          sha256: <64 hex digits>   # `soarpack server new-key` prints a key and this line
          actions: ["netskope.*"]   # fnmatch patterns on action names (default: all)
          side_effects: [read]      # default read only: write/destructive are granted explicitly
          playbooks: []             # playbooks the key may start (default: none)
          approve: false            # may decide approvals (and mark-done) in runs of `playbooks`
          rate_per_minute: 600
          concurrency: 8
      anonymous: {...}              # the scope of keyless callers under --allow-anonymous
      max_body_bytes: 1048576
      body_timeout: 10              # seconds a request body may take to arrive (then 408)
      header_timeout: 10            # seconds a connection may take to send its headers
      action_timeout: 60            # seconds an action may take (its deadline)
      executor: local               # or celery (workers.broker / SOARPACK_BROKER_URL)
      runs_dir: null                # playbook journals (default: the usual runs directory)
      shutdown_grace: 30            # seconds runs get to reach a pause point on shutdown

Problems are reported as one ConfigError naming each field (`server.keys.0.sha256`),
never quoting a value: a key pasted where its hash belongs must not end up in a log.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from soarpack.config import Config
from soarpack.errors import ConfigError

SideEffectName = Literal["read", "write", "destructive"]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Scope(_Model):
    """What a caller may do, and how much of it."""

    actions: tuple[str, ...] = ("*",)
    side_effects: tuple[SideEffectName, ...] = ("read",)
    playbooks: tuple[str, ...] = ()
    approve: bool = False
    rate_per_minute: int = Field(default=600, ge=1)
    concurrency: int = Field(default=8, ge=1)


class KeyEntry(Scope):
    """One API key: its public name, the SHA-256 of the key, and its scope."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
    sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")


class ServerSettings(_Model):
    keys: tuple[KeyEntry, ...] = ()
    anonymous: Scope = Scope()
    max_body_bytes: int = Field(default=1_048_576, ge=1, le=1_073_741_824)
    body_timeout: float = Field(default=10.0, gt=0, le=3_600)
    header_timeout: float = Field(default=10.0, gt=0, le=3_600)
    action_timeout: float = Field(default=60.0, gt=0, le=86_400)
    executor: Literal["local", "celery"] = "local"
    runs_dir: str | None = None
    shutdown_grace: float = Field(default=30.0, ge=0, le=3_600)

    @model_validator(mode="after")
    def _distinct_keys(self) -> ServerSettings:
        ids = [k.id for k in self.keys]
        if len(ids) != len(set(ids)):
            raise ValueError("keys: two keys have the same id")
        digests = [k.sha256.lower() for k in self.keys]
        if len(digests) != len(set(digests)):
            raise ValueError("keys: two keys have the same sha256")
        return self


def load_server_settings(config: Config) -> ServerSettings:
    """The `server` section of the config (defaults when it is absent)."""
    raw: Any = config.section("server")
    try:
        return ServerSettings.model_validate(raw)
    except ValidationError as exc:
        lines = []
        for problem in exc.errors(include_input=False, include_url=False):
            where = ".".join(str(part) for part in ("server", *problem["loc"]))
            lines.append(f"  - {where}: {problem['msg']}")
        where = f" in {config.path}" if config.path else ""
        raise ConfigError(
            f"The `server` section{where} is invalid:\n" + "\n".join(lines),
            hint="`soarpack server new-key` prints a key and the sha256 line for server.keys.",
        ) from None
