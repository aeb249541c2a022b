"""InputError and its field errors: the inputs broke the action's schema, nothing was sent."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from soarpack.errors._base import QUOTE_LIMIT, SoarpackError, shortened
from soarpack.redact import redact


@dataclass(frozen=True, order=True)
class FieldError:
    """One failing field: where it is (JSON pointer), which rule, and why."""

    pointer: str
    rule: str
    message: str

    def __post_init__(self) -> None:
        # A pointer holds the caller's keys: one key may be a megabyte long.
        if len(self.pointer) > QUOTE_LIMIT:
            object.__setattr__(self, "pointer", shortened(self.pointer))

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message} [{self.rule}]"


class InputError(SoarpackError):
    """Raised when inputs do not satisfy the action's input schema; nothing was sent."""

    kind = "invalid_input"

    def __init__(self, action: str, errors: list[FieldError]) -> None:
        self.action = action
        self.errors = sorted(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"Invalid input for {action} ({len(self.errors)} problem(s)):\n{lines}")

    @property
    def fields(self) -> list[str]:
        return [e.pointer for e in self.errors]

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["action"] = self.action
        out["errors"] = [
            {"pointer": e.pointer, "rule": e.rule, "message": redact(e.message)}
            for e in self.errors
        ]
        return out
