"""The sandbox: a local, seeded simulator of the Netskope REST API (v1 and v2) and of
OPSWAT MetaAccess (`create_metaaccess_app`; `create_sandbox_app` serves both, MetaAccess
under /metaaccess).

Used by tests and demos instead of a real tenant. One app serves REST v1 (clients,
alerts, report), the v2 data-export iterator and the v2 Client Status iterator. Serve
it in-process through `InProcessTransport`, or over loopback HTTP with `start_server`;
queue faults, append v2 records and read the request log through `SandboxState` (or
the `/_sandbox/` admin endpoints). `record_position` reads a v2 record's place in its
stream back from its `_id`.
"""

from soarpack.sandbox.apps import create_sandbox_app
from soarpack.sandbox.events import STREAM_KINDS, record_kind, record_position
from soarpack.sandbox.lacework_edge import create_lacework_edge_app
from soarpack.sandbox.metaaccess import create_metaaccess_app
from soarpack.sandbox.metaaccess_state import MetaAccessState
from soarpack.sandbox.netskope_v1 import create_netskope_app
from soarpack.sandbox.server import RunningServer, start_server
from soarpack.sandbox.state import SandboxState
from soarpack.sandbox.transport import InProcessTransport

__all__ = [
    "STREAM_KINDS",
    "InProcessTransport",
    "MetaAccessState",
    "RunningServer",
    "SandboxState",
    "create_lacework_edge_app",
    "create_metaaccess_app",
    "create_netskope_app",
    "create_sandbox_app",
    "record_kind",
    "record_position",
    "start_server",
]
