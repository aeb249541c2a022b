"""The sandbox: a local, seeded simulator of the Netskope REST API v1.

Used by tests and demos instead of a real tenant. Serve it in-process through
`InProcessTransport`, or over loopback HTTP with `start_server`; queue faults and
read the request log through `SandboxState` (or the `/_sandbox/` admin endpoints).
"""

from soarpack.sandbox.netskope_v1 import create_netskope_app
from soarpack.sandbox.server import RunningServer, start_server
from soarpack.sandbox.state import SandboxState
from soarpack.sandbox.transport import InProcessTransport

__all__ = [
    "InProcessTransport",
    "RunningServer",
    "SandboxState",
    "create_netskope_app",
    "start_server",
]
