"""PlaybookError and its branches, and the problems the checks before a run report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from soarpack.errors._base import SoarpackError, quoted_step
from soarpack.redact import redact


@dataclass(frozen=True, order=True)
class PlaybookProblem:
    """One problem found in a playbook: where (file, line, step, field) and what.

    A `warning` is a risk the playbook may mean to take: it is shown, but the playbook runs.
    """

    file: str
    line: int
    step: str
    field: str
    message: str
    level: str = "error"  # or "warning": shown, but the playbook may run

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        step = f" step {self.step}:" if self.step else ""
        field = f" {self.field}:" if self.field else ""
        level = " warning:" if self.level == "warning" else ""
        return f"{where}:{level}{step}{field} {self.message}"


class PlaybookError(SoarpackError):
    """Raised when a playbook or a run cannot go on as asked."""

    kind = "playbook"


class PlaybookInvalid(PlaybookError):
    """Raised when the checks before a run find problems; nothing was run."""

    kind = "invalid_playbook"

    def __init__(self, problems: list[PlaybookProblem]) -> None:
        self.problems = sorted(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"The playbook has {len(self.problems)} problem(s):\n{lines}")

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["problems"] = [{**p.__dict__, "message": redact(p.message)} for p in self.problems]
        return out


class ExpressionError(PlaybookError):
    """Raised when a ${{ }} expression cannot be parsed or evaluated."""

    kind = "expression"

    def __init__(
        self,
        reason: str,
        *,
        expression: str,
        playbook: str = "",
        step: str = "",
        field: str = "",
    ) -> None:
        self.reason = reason
        self.expression = expression
        self.playbook = playbook
        self.step = step
        self.field = field
        where = " ".join(
            part
            for part in (
                f"playbook {playbook}" if playbook else "",
                f"step {step}" if step else "",
                f"field {field}" if field else "",
            )
            if part
        )
        super().__init__(
            f"Expression ${{{{ {expression} }}}}"
            + (f" in {where}" if where else "")
            + f": {reason}"
        )

    def located(self, *, playbook: str, step: str, field: str) -> ExpressionError:
        """The same error with where it happened filled in."""
        return ExpressionError(
            self.reason, expression=self.expression, playbook=playbook, step=step, field=field
        )

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out.update(expression=self.expression, step=self.step, field=self.field)
        return out


class RunStateError(PlaybookError):
    """Raised when a run is unknown, busy, finished, or not waiting for that decision."""

    kind = "run_state"


class RunBusyError(RunStateError):
    """Raised when another process (or thread) drives the run: nothing was done."""

    kind = "run_busy"

    def __init__(self, run_id: str, pid: int | None) -> None:
        self.run_id, self.pid = run_id, pid
        holder = f"pid {pid}" if pid is not None else "another process"
        super().__init__(
            f"run {run_id} is being driven by {holder}.",
            hint=f"Resume it once it pauses or ends (`soarpack runs show {run_id}`).",
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "run_id": self.run_id, "pid": self.pid}


class DecisionConflict(RunStateError):
    """Raised when a step already holds a different decision than the one given."""

    kind = "decision_conflict"

    def __init__(self, run_id: str, step: str, decision: str, by: str | None, at: str | None):
        self.run_id, self.step, self.decision, self.by, self.at = run_id, step, decision, by, at
        who = (f" by {by}" if by else "") + (f" at {at}" if at else "")
        super().__init__(
            f"Step {quoted_step(step)} of run {run_id} was already {decision}{who}; it stands."
        )

    def to_dict(self) -> dict[str, Any]:
        keys = ("run_id", "step", "decision", "by", "at")
        return {**super().to_dict(), **{k: getattr(self, k) for k in keys}}


class ApprovalRejected(PlaybookError):
    """Raised (as a step's error) when a person rejected the step's approval."""

    kind = "approval_rejected"

    def __init__(self, step: str, by: str, reason: str | None) -> None:
        self.step = step
        self.by = by
        self.reason = reason
        super().__init__(f"Step {step} was rejected by {by}" + (f": {reason}" if reason else "."))


class ApprovalTimedOut(PlaybookError):
    """Raised (as a step's error) when no decision came before the approval timeout."""

    kind = "approval_timeout"

    def __init__(self, step: str, timeout: float) -> None:
        self.step = step
        self.timeout = timeout
        super().__init__(f"Step {step} got no approval decision within {timeout:g} s.")


class InDoubtError(PlaybookError):
    """Raised when a write step started but its outcome is unknown and cannot be verified."""

    kind = "in_doubt"

    def __init__(
        self, run_id: str, steps: list[str], reasons: dict[str, str] | None = None
    ) -> None:
        self.run_id = run_id
        self.steps = steps
        #: Per step stopped by its own `retry:`: why the change was not sent again.
        self.reasons = {step: why for step, why in (reasons or {}).items() if step in steps}
        crashed = [s for s in steps if s not in self.reasons]
        parts = [f"{step} was not sent again: {why}" for step, why in self.reasons.items()]
        if crashed:
            parts.append(
                f"{', '.join(crashed)} started a change whose outcome is unknown "
                "(the process stopped before the answer was recorded), and the action "
                "declares no verification."
            )
        super().__init__(
            f"Run {run_id} stopped: " + " ".join(parts),
            hint=f"Check the vendor console: if it arrived, `soarpack run --resume {run_id} "
            + " ".join(f"--mark-done {s}" for s in steps)
            + " --by NAME --reason TEXT`; if not, the same with "
            + " ".join(f"--retry-in-doubt {s}" for s in steps)
            + " to send it again.",
        )
