"""What a simulated OPSWAT MetaAccess account remembers: credentials, issued tokens,
its rate limiter, queued faults and its devices. Hung off `SandboxState.metaaccess`.

The rate limit counts the account's requests, whichever of its tokens made them, as the
vendor does: a client cannot get a fresh budget by logging in again (each CLI process
obtains its own token).

`clock` (monotonic seconds) drives token expiry and the rate limiter, so a test can
move time forward instead of sleeping. `now` (epoch seconds) is the account's fixed
"present" that `age` is measured from, so answers do not depend on the day.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from soarpack.sandbox.metaaccess.data import MetaAccessDevice, generate_devices
from soarpack.sandbox.shared.faults import FaultSwitches
from soarpack.sandbox.shared.ratelimit import RateDecision, SlidingWindowLimiter

__all__ = ["METAACCESS_CLIENT_ID", "MetaAccessState"]

METAACCESS_CLIENT_ID = "soarpack-sandbox"
#: The documented "10/min".
RATE_LIMIT_REQUESTS = 10
RATE_LIMIT_WINDOW = 60.0


@dataclass
class MetaAccessState:
    """A simulated MetaAccess account.

    `access_token` is a pre-provisioned token accepted as-is (None: only issued ones);
    `client_id`/`client_secret` are the OAuth client credentials (no secret: the token
    endpoint refuses everyone). Issued tokens live `token_lifetime` seconds of `clock`.
    `rate_limit` switches the account's limit of `rate_requests` per `rate_window`
    seconds on (the documented 10 a minute; a test may shorten the window rather than
    wait minutes).
    """

    seed: int = 7
    now: int | None = None
    access_token: str | None = None
    client_id: str = METAACCESS_CLIENT_ID
    client_secret: str | None = None
    device_count: int = 150
    token_lifetime: int = 3600
    rate_limit: bool = True
    rate_requests: int = RATE_LIMIT_REQUESTS
    rate_window: float = RATE_LIMIT_WINDOW
    clock: Callable[[], float] = time.monotonic
    faults: FaultSwitches = field(default_factory=FaultSwitches)
    devices: list[MetaAccessDevice] = field(init=False, repr=False)
    limiter: SlidingWindowLimiter = field(init=False, repr=False, compare=False)
    _issued: dict[str, float] = field(init=False, repr=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.now is None:
            self.now = int(time.time())
        self.devices = generate_devices(self.seed, self.now, self.device_count)
        # Reads `self.clock` on every hit, so a test may swap the clock on a live account.
        self.limiter = SlidingWindowLimiter(
            limit=self.rate_requests, window=self.rate_window, clock=lambda: self.clock()
        )
        self._lock = threading.Lock()

    # -- credentials ---------------------------------------------------------------

    def client_matches(self, client_id: str | None, client_secret: str | None) -> bool:
        if self.client_secret is None or client_id is None or client_secret is None:
            return False
        return _same(client_id, self.client_id) and _same(client_secret, self.client_secret)

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._issued[token] = self.clock() + self.token_lifetime
        return token

    def accepts(self, token: str | None) -> bool:
        """Whether `token` is the provisioned one or an issued one that has not expired."""
        if not token:
            return False
        if self.access_token is not None and _same(token, self.access_token):
            return True
        with self._lock:
            expires_at = self._issued.get(token)
        return expires_at is not None and self.clock() < expires_at

    def revoke_issued_tokens(self) -> int:
        """Forget every issued token (as an administrator revoking them would); returns how many."""
        with self._lock:
            count = len(self._issued)
            self._issued.clear()
            return count

    def issued_tokens(self) -> list[str]:
        """Every token issued so far (tests search outputs for them)."""
        with self._lock:
            return list(self._issued)

    def issued_count(self) -> int:
        with self._lock:
            return len(self._issued)

    def hit_rate_limit(self) -> RateDecision:
        """Count a request of the account under its limit (always allowed while off)."""
        if not self.rate_limit:
            return self.limiter.unlimited()
        return self.limiter.hit(self.client_id)

    # -- devices -------------------------------------------------------------------

    def changed_within(self, age: int) -> list[MetaAccessDevice]:
        """Devices whose status changed in the last `age` seconds, newest first."""
        assert self.now is not None
        oldest = self.now - age
        return [d for d in self.devices if d.changed_at >= oldest]


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
