"""The request paths the pack's manifest declares, for a simulator to route on.

A simulator answers where the pack sends a request, so it reads the path from
`manifest.yaml` rather than writing it again: one declaration, which moves the
simulator with it when it changes. The pack is found the way the engine finds it
(`soarpack.pack`: --pack, SOARPACK_PACK, the checkout, the wheel's copy) when an app is
built, and each pack folder is loaded once per process.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from soarpack.pack import Pack, find_pack_dir

__all__ = ["exchange_path", "request_path"]


def request_path(action: str) -> str:
    """The path `action`'s request goes to: its `http.path` in the manifest."""
    http = _pack(find_pack_dir()).action(action).http
    if http is None:
        raise LookupError(f"{action} declares no HTTP request to simulate.")
    return http.path


def exchange_path(connection: str) -> str:
    """The path where `connection` exchanges credentials for a token: `auth.exchange.path`."""
    exchange = _pack(find_pack_dir()).connection(connection).auth.exchange
    if exchange is None:
        raise LookupError(f"The {connection} connection declares no token exchange.")
    return exchange.path


@cache
def _pack(root: Path) -> Pack:
    return Pack.load(root)
