"""API keys and what each may do.

A caller sends `Authorization: Bearer <key>`. The config stores only the SHA-256 of
each key. A fast hash is right here, unlike for passwords: keys are 32 random bytes
(256 bits), so guessing one from its hash is infeasible however fast the hash, while
a slow KDF would cost every request real CPU. The presented key's digest is compared
with every configured digest in constant time, with no early exit, so neither timing
nor order tells a caller which key (if any) came close.

The key a caller presents is never logged, echoed or registered anywhere: only the
configured key's `id` appears in access logs.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from soarpack.errors import ConfigError
from soarpack.manifest import ActionSpec
from soarpack.server.errors import Unauthorized
from soarpack.server.settings import KeyEntry, Scope

ANONYMOUS = "anonymous"
KEY_PREFIX = "spk_"
_SCHEME = "bearer"


def hash_key(key: str) -> str:
    """The hex SHA-256 of a key, as `server.keys[].sha256` holds it."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh key: 32 random bytes, URL-safe, with a prefix secret scanners can spot."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Caller:
    """Who is calling (a key's id, or `anonymous`) and the scope they have."""

    id: str
    scope: Scope

    def action_refusal(self, spec: ActionSpec) -> str | None:
        """Why this caller may not call `spec`, or None when it may."""
        if not any(fnmatchcase(spec.name, pattern) for pattern in self.scope.actions):
            return (
                f"This API key may not call {spec.name}: no action pattern of the key matches it."
            )
        if spec.side_effect not in self.scope.side_effects:
            allowed = ", ".join(self.scope.side_effects) or "no"
            return (
                f"This API key may not call {spec.name}: it is a {spec.side_effect} action "
                f"and the key allows only {allowed} actions."
            )
        return None

    def may_run(self, playbook: str) -> bool:
        return any(fnmatchcase(playbook, pattern) for pattern in self.scope.playbooks)

    def visible(self, specs: Iterable[ActionSpec]) -> list[ActionSpec]:
        return [spec for spec in specs if self.action_refusal(spec) is None]


class KeyRing:
    """The configured keys; turns an Authorization header into a Caller or Unauthorized."""

    def __init__(self, keys: Iterable[KeyEntry], anonymous: Scope | None = None) -> None:
        self._keys = [(bytes.fromhex(k.sha256), k) for k in keys]
        # None: a request without a key is refused.
        self._anonymous = anonymous

    def authenticate(self, header: str | None) -> Caller:
        if header is None or not header.strip():
            if self._anonymous is not None:
                return Caller(ANONYMOUS, self._anonymous)
            raise Unauthorized("No API key: send `Authorization: Bearer <key>`.")
        scheme, _, presented = header.strip().partition(" ")
        presented = presented.strip()
        if scheme.lower() != _SCHEME or not presented:
            raise Unauthorized("The Authorization header must be `Bearer <key>`.")
        digest = hashlib.sha256(presented.encode("utf-8")).digest()
        found: KeyEntry | None = None
        for expected, entry in self._keys:
            # Every key is compared; the match is remembered, not returned early.
            if hmac.compare_digest(digest, expected):
                found = entry
        if found is None:
            raise Unauthorized("The API key is not valid.")
        return Caller(found.id, found)


def is_loopback(host: str) -> bool:
    """Whether `host` names only this machine (a literal loopback address or localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_anonymous(host: str, allow_anonymous: bool) -> None:
    """Anonymous access is for a server only this machine can reach."""
    if allow_anonymous and not is_loopback(host):
        raise ConfigError(
            f"--allow-anonymous needs a loopback host; {host!r} may be reachable from other "
            "machines.",
            hint="Bind 127.0.0.1 (the default), or configure API keys in server.keys.",
        )
