"""ConfigError and PackError: the settings or the pack itself are wrong; nothing was sent."""

from __future__ import annotations

from typing import Any

from soarpack.errors._base import SoarpackError
from soarpack.redact import redact


class ConfigError(SoarpackError):
    """Raised when settings are missing or unusable, or a name does not exist."""

    kind = "config"


class TaskRefused(ConfigError):
    """A task was refused before any vendor call: unsigned, tampered, replayed, expired,
    or destructive with no approval record (soarpack/workers/signing.py)."""

    def __init__(self, task_id: str, reason: str, *, hint: str | None = None) -> None:
        self.task_id = task_id
        self.reason = reason
        super().__init__(f"Task {task_id} was refused: {reason}. Nothing was sent.", hint=hint)


class PackError(SoarpackError):
    """Raised when the pack itself is broken: manifest, schema, handler or reference."""

    kind = "pack"

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = sorted(problems)
        lines = "\n".join(f"  - {where}: {what}" for where, what in self.problems)
        super().__init__(f"The pack has {len(self.problems)} problem(s):\n{lines}")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["problems"] = [{"where": w, "problem": redact(p)} for w, p in self.problems]
        return out
