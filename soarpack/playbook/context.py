"""What one unit of a run (steps.py), the verify read (verify.py) and the approval record
(grants.py) need of the run driving them.

Written as a protocol, not imported from runner.py: the runner imports those modules,
so they cannot import it back. `Runner` (a recorder.Recorder) is the one implementation.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol

from soarpack import errors
from soarpack.engine import Engine
from soarpack.playbook.model import Playbook
from soarpack.playbook.state import RunState, StepState, Unit

# Runs (or re-enters) the sub-playbook of a step: (status, outputs, error). The session
# gives it: a child run loads its playbook and builds its own runner, the session's work.
ChildRun = Callable[[StepState, Unit, Any], tuple[str, Any, "errors.SoarpackError | None"]]


class RunContext(Protocol):
    @property
    def playbook(self) -> Playbook: ...

    @property
    def engine(self) -> Engine: ...

    @property
    def state(self) -> RunState: ...

    @property
    def dry_run(self) -> bool: ...

    @property
    def prefix(self) -> str: ...

    @property
    def lock(self) -> AbstractContextManager[Any]: ...

    @property
    def waiting_children(self) -> set[str]: ...

    @property
    def doubtful_children(self) -> set[str]: ...

    def record(
        self,
        event: dict[str, Any],
        *,
        durable: bool = False,
        buffered: bool = False,
        unless_decided: bool = False,
    ) -> bool: ...

    def release(self, found: StepState, unit: Unit) -> None: ...

    def fail_unit(self, found: StepState, unit: Unit, error: errors.SoarpackError) -> None: ...

    def after_failure(self, found: StepState, error: dict[str, Any]) -> None: ...
