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

The classes live in the private modules beside this one, one branch each; import them
from here (`from soarpack import errors`), the one public home of the tree.
"""

from __future__ import annotations

from soarpack.errors._base import QUOTE_LIMIT, SoarpackError, quoted_step, shortened
from soarpack.errors._calls import (
    AuthenticationError,
    CallError,
    ConflictError,
    ConnectionFailed,
    InvalidRequestError,
    MalformedResponseError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeout,
    ServerError,
    TransportError,
    VendorError,
)
from soarpack.errors._inputs import FieldError, InputError
from soarpack.errors._pack import ConfigError, PackError, TaskRefused
from soarpack.errors._playbook import (
    ApprovalRejected,
    ApprovalTimedOut,
    DecisionConflict,
    ExpressionError,
    InDoubtError,
    PlaybookError,
    PlaybookInvalid,
    PlaybookProblem,
    RunBusyError,
    RunStateError,
)

__all__ = [
    "QUOTE_LIMIT",
    "ApprovalRejected",
    "ApprovalTimedOut",
    "AuthenticationError",
    "CallError",
    "ConfigError",
    "ConflictError",
    "ConnectionFailed",
    "DecisionConflict",
    "ExpressionError",
    "FieldError",
    "InDoubtError",
    "InputError",
    "InvalidRequestError",
    "MalformedResponseError",
    "NotFoundError",
    "PackError",
    "PermissionDeniedError",
    "PlaybookError",
    "PlaybookInvalid",
    "PlaybookProblem",
    "RateLimitedError",
    "RequestTimeout",
    "RunBusyError",
    "RunStateError",
    "ServerError",
    "SoarpackError",
    "TaskRefused",
    "TransportError",
    "VendorError",
    "quoted_step",
    "shortened",
]
