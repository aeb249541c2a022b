"""What a run (or the part of it until it paused) came to, and its exit code: the
value `run_playbook` and `resume_run` return."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soarpack import errors, exitcodes


@dataclass
class RunResult:
    """What a run (or this part of it, until it paused) came to."""

    run_id: str
    playbook: str
    status: str  # succeeded | failed | waiting | in_doubt
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    changes: list[dict[str, Any]] = field(default_factory=list)
    waiting: list[dict[str, Any]] = field(default_factory=list)
    error: errors.SoarpackError | None = None
    failed_step: dict[str, Any] | None = None
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        if self.status == "succeeded":
            return exitcodes.OK
        if self.status == "waiting":
            return exitcodes.WAITING
        if self.status == "in_doubt":
            return exitcodes.IN_DOUBT
        if self.error is not None:
            return exitcodes.exit_code_for(self.error)
        cls = getattr(errors, str((self.failed_step or {}).get("type")), None)
        if isinstance(cls, type) and issubclass(cls, errors.SoarpackError):
            return exitcodes.code_for_class(cls)
        return exitcodes.VENDOR

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "playbook": self.playbook,
            "status": self.status,
            "ok": self.status == "succeeded",
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "outputs": self.outputs,
            "steps": self.steps,
        }
        if self.dry_run:
            out["changes"] = self.changes
        if self.waiting:
            out["waiting"] = self.waiting
        if self.failed_step:
            out["failed_step"] = self.failed_step
        if self.error is not None:
            out["error"] = self.error.to_dict()
        return out
