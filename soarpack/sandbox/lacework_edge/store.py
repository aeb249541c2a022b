"""What a simulated Lacework Edge tenant remembers, and the knobs a test turns.

`LaceworkEdgeTenant` is the `lacework_edge` field of `SandboxState`. Its settings are
plain attributes, read on every request, so a test may change them on a live tenant:
the API key and the header that carries it, the JWT lifetime, a read-only switch, the
clock, route bindings (read when the app is built) and the workflow-run start delay.
Its records (one `Store` per area) are generated from `seed` when an app is first built
for it; `api_key` and `seed` left as None take the SandboxState's `token` and `seed`.

The clock is injectable: `FakeClock` lets a test move time to expire JWTs and workflow
runs without sleeping. Record timestamps are milliseconds and `tick()` never repeats,
so every change gets a strictly later `update_time`.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from soarpack.sandbox.lacework_edge.faults import EdgeFaults
from soarpack.sandbox.lacework_edge.spec import Operation

__all__ = ["Call", "EdgeError", "FakeClock", "LaceworkEdgeTenant", "Record", "Store"]

Record = dict[str, Any]


class EdgeError(Exception):
    """A refusal, answered as the vendor's error body `{"message": ...}` with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class FakeClock:
    """A settable clock for tests: `tenant.clock = clock = FakeClock(); clock.advance(3600)`."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self._now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._now += seconds
            return self._now

    def set(self, now: float) -> None:
        with self._lock:
            self._now = float(now)


class Store:
    """An area's records by id (uuid, or name/key for connectors, accounts and blobs)."""

    def __init__(self, area: str, id_field: str = "uuid") -> None:
        self.area = area
        self.id_field = id_field
        self._records: dict[str, Record] = {}

    def get(self, key: str) -> Record | None:
        return self._records.get(key)

    def require(self, key: str) -> Record:
        found = self._records.get(key)
        if found is None:
            raise EdgeError(404, f"{self.area} {key!r} not found")
        return found

    def put(self, record: Record, key: str | None = None) -> Record:
        self._records[key if key is not None else str(record[self.id_field])] = record
        return record

    def delete(self, key: str) -> Record:
        record = self.require(key)
        del self._records[key]
        return record

    def __contains__(self, key: object) -> bool:
        return key in self._records

    def __iter__(self) -> Iterator[Record]:
        return iter(list(self._records.values()))

    def __len__(self) -> int:
        return len(self._records)

    def ids(self) -> list[str]:
        return list(self._records)


@dataclass
class LaceworkEdgeTenant:
    """A simulated Lacework Edge tenant (see the module docstring).

    Settings: `api_key` (None: SandboxState.token), `seed` (None: SandboxState.seed),
    `account_name` (the tenant's account; the accounts store's names log in too),
    `auth_header` / `auth_scheme` (where the API key and the JWT travel; scheme "" sends
    them bare), `jwt_ttl` (seconds), `read_only` (writes answer 403), `clock` (epoch
    seconds; a `FakeClock` in tests), `bindings` ({action: {"method", "path"}}),
    `workflow_run_start_delay` (seconds from CREATED to PENDING; None: never by itself),
    `records_per_area` (seeded records per area). State: `logins` (successful
    token_logins), `stores`, `faults` (`EdgeFaults`), `api_user_uuid` (the API key's user).
    """

    api_key: str | None = None
    seed: int | None = None
    account_name: str = "acme"
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"  # "" sends the credential bare
    jwt_ttl: int = 3600
    read_only: bool = False
    clock: Callable[[], float] = time.time
    bindings: dict[str, dict[str, str]] = field(default_factory=dict)
    workflow_run_start_delay: float | None = 5.0
    records_per_area: int = 4
    faults: EdgeFaults = field(default_factory=EdgeFaults, repr=False, compare=False)
    logins: int = field(default=0, init=False)
    stores: dict[str, Store] = field(default_factory=dict, init=False, repr=False)
    # Per-record memory outside the answers: alert histories, run bookkeeping, user PII.
    history: dict[str, list[Record]] = field(default_factory=dict, init=False, repr=False)
    run_meta: dict[str, Record] = field(default_factory=dict, init=False, repr=False)
    user_pii: dict[str, Record] = field(default_factory=dict, init=False, repr=False)
    token_users: dict[str, str] = field(default_factory=dict, init=False, repr=False)
    api_user_uuid: str = field(default="", init=False)
    lock: threading.RLock = field(
        default_factory=threading.RLock, init=False, repr=False, compare=False
    )
    _rng: random.Random = field(default_factory=random.Random, init=False, repr=False)
    _last_ms: int = field(default=0, init=False, repr=False)
    _seeded: bool = field(default=False, init=False, repr=False)

    def adopt(
        self,
        seed: int,
        api_key: str,
        seeder: Callable[[LaceworkEdgeTenant, random.Random], None],
    ) -> None:
        """Fill the settings left as None from the SandboxState, then seed the records
        with `seeder` (the generator, given by the app: it builds on this module)."""
        with self.lock:
            if self.seed is None:
                self.seed = seed
            if self.api_key is None:
                self.api_key = api_key
            if not self._seeded:
                self._rng = random.Random(self.seed)
                seeder(self, self._rng)
                self._seeded = True

    @property
    def jwt_secret(self) -> bytes:
        return hashlib.sha256(f"lacework-edge-sandbox:{self.seed}".encode()).digest()

    @property
    def accounts(self) -> list[str]:
        """The account names a login may name: the tenant's, and any in the accounts store."""
        names = [self.account_name]
        names.extend(name for name in self.store("accounts").ids() if name not in names)
        return names

    def now(self) -> float:
        return float(self.clock())

    def now_ms(self) -> int:
        return int(self.now() * 1000)

    def tick(self) -> int:
        """The current time in ms, strictly after every earlier tick."""
        with self.lock:
            self._last_ms = max(self.now_ms(), self._last_ms + 1)
            return self._last_ms

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def new_secret(self) -> str:
        return "".join(self._rng.choice("abcdefghijkmnpqrstuvwxyz23456789") for _ in range(40))

    def store(self, area: str) -> Store:
        found = self.stores.get(area)
        if found is None:
            found = self.stores[area] = Store(area)
        return found

    def user_name(self, user_uuid: str) -> str:
        user = self.store("users").get(user_uuid)
        return str(user.get("display_name", "")) if user else ""


@dataclass
class Call:
    """One authenticated, validated request, as a handler sees it.

    `params` are the path parameters under operations.json's names (uuid, name, key, view)
    whatever the bound path calls them; `query` values are coerced to the schema's types.
    """

    tenant: LaceworkEdgeTenant
    op: Operation
    params: dict[str, str]
    query: dict[str, Any]
    body: dict[str, Any]
    claims: dict[str, Any]
    client_ip: str = ""

    @property
    def user_uuid(self) -> str:
        """The caller: the user the JWT (or the API key) was issued to."""
        return str(self.claims.get("sub") or self.tenant.api_user_uuid)

    @property
    def account(self) -> str:
        return str(self.claims.get("account") or self.tenant.account_name)

    def param(self) -> str:
        """The operation's one path parameter (uuid, name, key or view)."""
        return next(iter(self.params.values()))
