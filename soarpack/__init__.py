"""soarpack: manifest-declared SOAR actions for Netskope, OPSWAT MetaAccess and Lacework Edge.

Python API (the same path the CLI takes):

    from soarpack import Engine
    with Engine() as engine:
        result = engine.invoke("netskope.alerts.list", {"timeperiod": 86400})
        print(result.data["count"])

Nothing heavy is imported until used, so `soarpack` starts fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from soarpack.version import __version__

__all__ = ["ActionResult", "Engine", "__version__", "invoke"]

if TYPE_CHECKING:
    from soarpack.engine import ActionResult, Engine, invoke


def __getattr__(name: str) -> Any:
    if name in ("ActionResult", "Engine", "invoke"):
        from soarpack import engine as module

        return getattr(module, name)
    raise AttributeError(f"module 'soarpack' has no attribute {name!r}")
