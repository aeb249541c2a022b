"""Everything one sandbox tenant remembers, for every simulated vendor at once.

`SandboxState` is the Netskope tenant (`netskope/tenant.py`: tokens, data, faults and
the request log every vendor writes) with the other vendors' tenants hung off it. With
`apps.py`, this is the only module that knows all three vendors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from soarpack.sandbox.lacework_edge.store import LaceworkEdgeTenant
from soarpack.sandbox.metaaccess.state import MetaAccessState
from soarpack.sandbox.netskope.tenant import NetskopeTenant

__all__ = ["SandboxState"]


@dataclass
class SandboxState(NetskopeTenant):
    """A simulated tenant of every vendor (see `NetskopeTenant` for its settings)."""

    # Lacework Edge (`lacework_edge/app.py`): settings, records and faults of its own; its
    # `api_key` and `seed` default to `token` and `seed` here.
    lacework_edge: LaceworkEdgeTenant = field(default_factory=LaceworkEdgeTenant, compare=False)
    # OPSWAT MetaAccess (`metaaccess/app.py`): its own account, from the same seed and `now`;
    # `token` is both its provisioned access token and its OAuth client secret. Replace
    # it with a MetaAccessState of your own to change counts, switches or the clock.
    metaaccess: MetaAccessState = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.metaaccess = MetaAccessState(
            seed=self.seed, now=self.clock, access_token=self.token, client_secret=self.token
        )
