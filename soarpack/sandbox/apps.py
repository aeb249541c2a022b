"""Every simulated vendor on one app, for the loopback sandbox (`sandbox serve`, `demo`).

Netskope answers at the root, as it always has; other vendors are mounted under a path
prefix of their own, which their connection's base_url carries:

    http://127.0.0.1:PORT/                 Netskope REST v1 and v2, /_sandbox/ admin
    http://127.0.0.1:PORT/metaaccess/      OPSWAT MetaAccess
    http://127.0.0.1:PORT/lacework-edge/   Lacework Edge (account "acme", API key = token)

With `state.py`, this is where the vendors are assembled: the only modules that import
all three vendor packages.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.routing import Mount

from soarpack.sandbox.lacework_edge.app import create_lacework_edge_app
from soarpack.sandbox.metaaccess.app import create_metaaccess_app
from soarpack.sandbox.metaaccess.state import METAACCESS_CLIENT_ID
from soarpack.sandbox.netskope.v1 import create_netskope_app
from soarpack.sandbox.state import SandboxState

__all__ = [
    "LACEWORK_EDGE_PREFIX",
    "METAACCESS_PREFIX",
    "MOUNTED",
    "connection_env",
    "create_sandbox_app",
]

METAACCESS_PREFIX = "/metaaccess"
LACEWORK_EDGE_PREFIX = "/lacework-edge"
#: Path prefix -> app factory of each vendor served beside Netskope.
MOUNTED: dict[str, Callable[[SandboxState], Starlette]] = {
    METAACCESS_PREFIX: create_metaaccess_app,
    LACEWORK_EDGE_PREFIX: create_lacework_edge_app,
}


def create_sandbox_app(state: SandboxState) -> Starlette:
    """One ASGI app serving `state` as every simulated vendor."""
    routes = [Mount(prefix, app=factory(state)) for prefix, factory in MOUNTED.items()]
    routes.append(Mount("/", app=create_netskope_app(state)))
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app


def connection_env(base_url: str, token: str) -> dict[str, str]:
    """The environment that points every connection at the sandbox served at `base_url`,
    with `token` (the sandbox's one credential) in each secret setting."""
    return {
        "SOARPACK_NETSKOPE_BASE_URL": base_url,
        "SOARPACK_NETSKOPE_TOKEN": token,
        "SOARPACK_NETSKOPE_V2_BASE_URL": base_url,
        "SOARPACK_NETSKOPE_V2_TOKEN": token,
        # Client credentials: the MetaAccess token is obtained through OAuth.
        "SOARPACK_METAACCESS_BASE_URL": base_url + METAACCESS_PREFIX,
        "SOARPACK_METAACCESS_CLIENT_ID": METAACCESS_CLIENT_ID,
        "SOARPACK_METAACCESS_CLIENT_SECRET": token,
        # The Lacework Edge tenant takes the same token as its API key.
        "SOARPACK_LACEWORK_EDGE_BASE_URL": base_url + LACEWORK_EDGE_PREFIX,
        "SOARPACK_LACEWORK_EDGE_ACCOUNT": "acme",
        "SOARPACK_LACEWORK_EDGE_API_KEY": token,
    }
