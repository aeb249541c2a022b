"""Every simulated vendor on one app, for the loopback sandbox (`sandbox serve`, `demo`).

Netskope answers at the root, as it always has; other vendors are mounted under a path
prefix of their own, which their connection's base_url carries:

    http://127.0.0.1:PORT/                 Netskope REST v1 and v2, /_sandbox/ admin
    http://127.0.0.1:PORT/metaaccess/      OPSWAT MetaAccess
    http://127.0.0.1:PORT/lacework-edge/   Lacework Edge (account "acme", API key = token)
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.routing import Mount

from soarpack.sandbox.lacework_edge import create_lacework_edge_app
from soarpack.sandbox.metaaccess import create_metaaccess_app
from soarpack.sandbox.netskope_v1 import create_netskope_app
from soarpack.sandbox.state import SandboxState

__all__ = ["LACEWORK_EDGE_PREFIX", "METAACCESS_PREFIX", "MOUNTED", "create_sandbox_app"]

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
