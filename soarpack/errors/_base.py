"""The base of the error tree (drawn in soarpack/errors/__init__.py), and how every
message quotes what a caller sent: briefly, never a whole hostile input."""

from __future__ import annotations

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
