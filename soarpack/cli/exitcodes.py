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
WAITING = 10  # reserved for playbook runs paused on an approval

TABLE: list[tuple[type[errors.SoarpackError], int]] = [
    (errors.InputError, BAD_INPUT),
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
    CONFIG: "configuration, pack or name error; nothing was sent",
    AUTH: "authentication or permission refused by the vendor",
    VENDOR: "vendor/API error (4xx, 5xx, error in body, malformed answer)",
    NETWORK: "network error: DNS, TLS, refused, proxy or timeout",
    RATE_LIMITED: "rate limited after all retries",
    WAITING: "reserved: playbook run paused, waiting for an approval",
}


def exit_code_for(error: errors.SoarpackError) -> int:
    for cls, code in TABLE:
        if isinstance(error, cls):
            return code
    return VENDOR
