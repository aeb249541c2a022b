"""Which actions the server serves: all but those whose inputs are local paths.

An input marked `x-local-path` names a place on the disk of the machine running the
action (the ingest's output and state directories). Over HTTP that would let any key
with write scope make the server write files where the caller chooses, so such
actions are left out of the catalogue and the OpenAPI document and answer 404; they
run through the CLI on the machine that keeps the files.
"""

from __future__ import annotations

from soarpack import annotated
from soarpack.pack import Pack
from soarpack.schemas import LOCAL_PATH_KEY


def unserved_actions(pack: Pack) -> frozenset[str]:
    """Names of the actions the server does not serve."""
    return frozenset(
        spec.name
        for spec in pack.actions.values()
        if annotated.uses(pack.schemas, spec.input, LOCAL_PATH_KEY)
    )
