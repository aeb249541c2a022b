"""Every error soarpack raises, in one tree under one base class.

    SoarpackError
    ├── InputError               inputs broke the action's schema; nothing was sent
    ├── ConfigError              settings missing or unusable, unknown action or connection
    │   └── TaskRefused              a Celery task unsigned, tampered, replayed or unapproved
    ├── PackError                the manifest, a schema or a handler is broken
    ├── PlaybookError            a playbook or a run cannot go on as asked
    │   ├── PlaybookInvalid          the checks before a run found problems; nothing ran
    │   ├── ExpressionError          a ${{ }} expression failed to parse or evaluate
    │   ├── RunStateError            unknown run, run finished, nothing waiting for that decision
    │   │   ├── RunBusyError             another process drives the run (its pid)
    │   │   └── DecisionConflict         the step already holds another decision (what, who, when)
    │   ├── ApprovalRejected         a person rejected an approval step
    │   ├── ApprovalTimedOut         no decision came before the approval's timeout
    │   └── InDoubtError             a write step started, its outcome is unknown
    └── CallError                a call to a vendor did not give a usable result
        ├── AuthenticationError      401, or the vendor said the credential is wrong
        │   └── PermissionDeniedError    403: the credential is valid but not allowed
        ├── NotFoundError            404
        ├── ConflictError            409
        ├── RateLimitedError         429 that outlasted the retry budget
        ├── InvalidRequestError      400 / 406 / 413 / 422
        ├── VendorError              a 200 whose body says the call failed
        ├── ServerError              5xx
        ├── MalformedResponseError   not JSON, or not the shape we expect
        └── TransportError           the request never got an HTTP answer
            ├── RequestTimeout           connect, read or total time ran out
            └── ConnectionFailed         DNS, TLS, refused, proxy

Errors carry their context as attributes (status, vendor message, retry-after,
field paths) and are rendered only at the boundaries (CLI, server, runner).

Every CallError also carries its verdict, from the one table in soarpack/http/errormap.py:
`processed` (False: proven not processed, so sending it again repeats nothing; None: it
may have been processed; True: the vendor processed it and answered for good) and
`transient` (the failure may pass by itself). A write is sent again only when
`processed` is False, or after the action's `verify` read shows its effect absent.
`str()` of any of them is passed through the secret redactor, so a message that
quotes a vendor answer can never show a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from soarpack.redact import redact


class SoarpackError(Exception):
    """Raised for anything soarpack knows how to explain; the base of the tree."""

    #: A short machine name for the class of problem (JSON error bodies, exit codes).
    kind = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        text = self.message if not self.hint else f"{self.message} {self.hint}"
        return redact(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def to_dict(self) -> dict[str, Any]:
        """The error as plain data, redacted, for JSON output."""
        out: dict[str, Any] = {"kind": self.kind, "type": type(self).__name__, "message": str(self)}
        return out


# The most of a caller's value (or key) an error message quotes: enough to recognise it,
# never a whole hostile input in a log line or an HTTP answer.
QUOTE_LIMIT = 200


def shortened(text: str, limit: int = QUOTE_LIMIT) -> str:
    """`text`, cut to `limit` characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def quoted_step(step: str) -> str:
    """A step named by a caller (a URL, argv), as a message quotes it: repr'd, so no odd
    character passes raw, and short enough that the message around it stays under
    ~300 characters."""
    return shortened(repr(step), QUOTE_LIMIT // 2)


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


class CallError(SoarpackError):
    """Raised when a vendor call did not produce a usable result."""

    kind = "vendor"

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        vendor_message: str | None = None,
        method: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
        processed: bool | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message, hint=hint)
        # Unknown unless the failure's row says otherwise (errormap): never resent blindly.
        self.processed = processed
        self.transient = transient
        self.status = status
        self.vendor_message = vendor_message
        self.method = method
        self.url = url
        self.retry_after = retry_after
        self.attempts = attempts

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for key in ("status", "vendor_message", "method", "url", "retry_after"):
            value = getattr(self, key)
            if value is not None:
                out[key] = redact(value) if isinstance(value, str) else value
        out["attempts"] = self.attempts
        out["processed"] = self.processed
        return out


class AuthenticationError(CallError):
    """Raised on 401, or when the vendor says the credential is invalid or expired."""

    kind = "auth"


class PermissionDeniedError(AuthenticationError):
    """Raised on 403: the credential was accepted but may not do this."""

    kind = "permission"


class NotFoundError(CallError):
    """Raised on 404: the object or endpoint does not exist."""

    kind = "not_found"


class ConflictError(CallError):
    """Raised on 409: the vendor refused because of a concurrent change or use."""

    kind = "conflict"


class RateLimitedError(CallError):
    """Raised on 429 once the retry budget is spent; `retry_after` says how long to wait."""

    kind = "rate_limited"


class InvalidRequestError(CallError):
    """Raised on 400, 406, 413 or 422: the vendor rejected what we sent."""

    kind = "invalid_request"


class VendorError(CallError):
    """Raised when a 200 answer's body says the call failed."""

    kind = "vendor"


class ServerError(CallError):
    """Raised on 5xx once retries (where allowed) are spent."""

    kind = "server"


class MalformedResponseError(CallError):
    """Raised when the answer is not JSON or not of the shape the action expects."""

    kind = "malformed"


class TransportError(CallError):
    """Raised when the request got no HTTP answer at all."""

    kind = "network"


class RequestTimeout(TransportError):
    """Raised when the connect, read or total time limit ran out."""

    kind = "timeout"


class ConnectionFailed(TransportError):
    """Raised when no connection could be made; `reason` is dns, tls, refused, proxy or other,
    or answer_lost (a queued task's answer could not be read back: it may have run)."""

    kind = "network"

    def __init__(self, message: str, *, reason: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reason = reason

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["reason"] = self.reason
        return out


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
