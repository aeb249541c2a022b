"""The sandbox: a local, seeded simulator of the Netskope REST API (v1 and v2).

Used by tests and demos instead of a real tenant. One app serves REST v1 (clients,
alerts, report), the v2 data-export iterator and the v2 Client Status iterator. Serve
it in-process through `InProcessTransport`, or over loopback HTTP with `start_server`;
queue faults, append v2 records and read the request log through `SandboxState` (or
the `/_sandbox/` admin endpoints). `record_position` reads a v2 record's place in its
stream back from its `_id`.
"""

from soarpack.sandbox.events import STREAM_KINDS, record_kind, record_position
from soarpack.sandbox.netskope_v1 import create_netskope_app
from soarpack.sandbox.server import RunningServer, start_server
from soarpack.sandbox.state import SandboxState
from soarpack.sandbox.transport import InProcessTransport

__all__ = [
    "STREAM_KINDS",
    "InProcessTransport",
    "RunningServer",
    "SandboxState",
    "create_netskope_app",
    "record_kind",
    "record_position",
    "start_server",
]
