"""Exit codes of the `soarpack` command: one table, documented in the README.

The most specific matching class wins (the table is checked in order).
"""

from __future__ import annotations

from soarpack import errors

OK = 0
INTERNAL = 1  # a bug: please report it (run again with --debug for the traceback)
USAGE = 2  # the command line itself is wrong (argparse)
BAD_INPUT = 3  # inputs broke the action's schema; nothing was sent
CONFIG = 4  # settings, pack or names are wrong; nothing was sent
AUTH = 5  # the vendor refused the credential (401/403 or a v1 token error)
VENDOR = 6  # the vendor answered with an error: 4xx, 5xx, error body, malformed answer
NETWORK = 7  # no answer: DNS, TLS, refused, proxy, timeout
RATE_LIMITED = 8  # still rate limited after the retry budget
WAITING = 10  # a playbook run paused: a step waits for an approval
IN_DOUBT = 11  # a playbook run stopped: a write step's outcome is unknown
REJECTED = 12  # a playbook run failed: an approval was rejected or timed out
BUSY = 13  # another process drives the run; nothing was done
DECIDED = 14  # the step already holds a different decision; nothing was recorded

TABLE: list[tuple[type[errors.SoarpackError], int]] = [
    (errors.InputError, BAD_INPUT),
    (errors.ExpressionError, BAD_INPUT),
    (errors.InDoubtError, IN_DOUBT),
    (errors.RunBusyError, BUSY),
    (errors.DecisionConflict, DECIDED),
    (errors.ApprovalRejected, REJECTED),
    (errors.ApprovalTimedOut, REJECTED),
    (errors.PlaybookError, CONFIG),
    (errors.ConfigError, CONFIG),
    (errors.PackError, CONFIG),
    (errors.AuthenticationError, AUTH),
    (errors.TransportError, NETWORK),
    (errors.RateLimitedError, RATE_LIMITED),
    (errors.CallError, VENDOR),
]

DESCRIPTIONS = {
    OK: "success",
    INTERNAL: "internal error (a bug; rerun with --debug and report it)",
    USAGE: "command-line usage error",
    BAD_INPUT: "invalid action input; nothing was sent",
    CONFIG: "configuration, pack, playbook or name error; nothing was sent",
    AUTH: "authentication or permission refused by the vendor",
    VENDOR: "vendor/API error (4xx, 5xx, error in body, malformed answer)",
    NETWORK: "network error: DNS, TLS, refused, proxy or timeout",
    RATE_LIMITED: "rate limited after all retries",
    WAITING: "playbook run paused: a step waits for an approval (soarpack approve, then --resume)",
    IN_DOUBT: "playbook run stopped: a change's outcome is unknown (see --mark-done, --retry-in-doubt)",
    REJECTED: "playbook run failed: an approval was rejected or timed out",
    BUSY: "playbook run is being driven by another process (its pid is named); nothing was done",
    DECIDED: "the step already holds a different decision (named, with who and when)",
}


def exit_code_for(error: errors.SoarpackError) -> int:
    return code_for_class(type(error))


def code_for_class(kind: type[errors.SoarpackError]) -> int:
    """The exit code of an error class (a journal records failed steps by class name)."""
    for cls, code in TABLE:
        if issubclass(kind, cls):
            return code
    return VENDOR
