"""The sandbox: local, seeded simulators of Netskope (REST v1 and v2), OPSWAT MetaAccess
and Lacework Edge, for tests and demos instead of a real tenant.

One package per vendor (`netskope/`, `metaaccess/`, `lacework_edge/`), none importing
another, above `shared/` (serving, faults, the request log...), which imports none.
`state.py` (`SandboxState`, every vendor's tenant in one) and `apps.py`
(`create_sandbox_app`: Netskope at the root, MetaAccess under /metaaccess, Lacework Edge
under /lacework-edge) are the only modules that know all three.

Serve an app in-process through `InProcessTransport`, or over loopback HTTP with
`start_server`; queue faults, append v2 records and read the request log through
`SandboxState` (or the `/_sandbox/` admin endpoints). `record_position` reads a v2
record's place in its stream back from its `_id`.
"""

from soarpack.sandbox.apps import create_sandbox_app
from soarpack.sandbox.lacework_edge.app import create_lacework_edge_app
from soarpack.sandbox.metaaccess.app import create_metaaccess_app
from soarpack.sandbox.metaaccess.state import MetaAccessState
from soarpack.sandbox.netskope.events import STREAM_KINDS, record_kind, record_position
from soarpack.sandbox.netskope.v1 import create_netskope_app
from soarpack.sandbox.shared.server import RunningServer, start_server
from soarpack.sandbox.shared.transport import InProcessTransport
from soarpack.sandbox.state import SandboxState

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
