"""What a run knows: each step's (and each loop item's) state, folded from events.

The same `RunState.apply` serves a live run and a resume, so what a resumed run
believes is exactly what the journal recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from soarpack.playbook import states
from soarpack.playbook.model import CompiledStep, Playbook


@dataclass
class Unit:
    """One thing that runs: a step, or one item of a for_each step."""

    step: str
    item: int | None = None
    state: str = states.PENDING
    attempts: int = 0
    inputs: Any = None
    result: Any = None
    outputs: Any = None
    error: dict[str, Any] | None = None
    planned: dict[str, Any] | None = None
    duration_ms: float | None = None
    doubt: str | None = None  # in doubt by the step's own retry: why it was not resent

    @property
    def key(self) -> str:
        return self.step if self.item is None else f"{self.step}[{self.item}]"


@dataclass
class StepState:
    """A step: its head unit (when, approval, the action or the loop) and its items."""

    step: CompiledStep
    head: Unit
    items: list[Any] | None = None
    units: list[Unit] = field(default_factory=list)
    approval: dict[str, Any] = field(default_factory=dict)
    triggered_by: dict[str, Any] | None = None  # the failure that sent the run here
    # Scheduling, in this process only: the head is in a job; loop items in jobs; the
    # next item to look at; whether an item failed.
    claimed: bool = False
    active: int = 0
    cursor: int = 0
    item_failed: bool = False

    @property
    def loops(self) -> bool:
        return self.step.spec.for_each is not None

    def view(self) -> dict[str, Any]:
        """`steps.<id>` as expressions see it."""
        head = self.head
        items = None
        if self.items is not None:
            items = [
                {
                    "index": u.item,
                    "item": self.items[u.item or 0],
                    "status": u.state,
                    "outputs": u.outputs,
                }
                for u in self.units
            ]
        return {
            "status": head.state,
            "outputs": head.outputs,
            "result": head.result,
            "error": head.error,
            "items": items,
        }


class RunState:
    """Every step's state, the expression scope, and the run's own facts."""

    def __init__(self, playbook: Playbook, run: dict[str, Any]) -> None:
        self.playbook = playbook
        self.run = run
        self.inputs: dict[str, Any] = {}
        self.steps = {sid: StepState(step, Unit(sid)) for sid, step in playbook.steps.items()}
        self.views: dict[str, dict[str, Any]] = {sid: s.view() for sid, s in self.steps.items()}
        self.finished: dict[str, Any] | None = None

    def unit(self, step: str, item: int | None) -> Unit:
        found = self.steps[step]
        return found.head if item is None else found.units[item]

    def apply(self, event: dict[str, Any]) -> None:
        """Fold one journal event into the state (see states.TABLE for what may follow what)."""
        kind = event["ev"]
        if kind == "run_started":
            self.inputs = event.get("inputs") or {}
            return
        if kind == "run_finished":
            self.finished = event
            return
        if "step" not in event or kind == "verify_failed":
            return  # run_resumed, run_paused, a failed check: facts for people only
        found = self.steps[event["step"]]
        if kind == "expanded":
            found.head.state = states.advance(found.head.state, kind, found.head.key)
            found.items = list(event["items"])
            found.units = [Unit(found.step.id, i) for i in range(len(found.items))]
            self._refresh(found)
            return
        if kind == "triggered":
            found.triggered_by = event.get("error")
            return
        unit = self.unit(event["step"], event.get("item"))
        unit.state = states.advance(unit.state, kind, unit.key)
        if kind == "in_doubt":
            unit.doubt = event.get("reason")
            unit.error = event.get("error") or unit.error
        elif unit.state != states.IN_DOUBT:
            unit.doubt = None
        if kind == "started":
            unit.attempts = int(event.get("attempt", unit.attempts + 1))
            unit.inputs = event.get("inputs")
        elif kind in ("succeeded", "verified_done", "marked_done"):
            unit.result = event.get("result")
            unit.outputs = event.get("outputs")
            unit.error = None
            unit.duration_ms = event.get("ms")
            if kind == "marked_done" and unit.item is None and found.step.outputs:
                # Nothing answered: the declared outputs read null (as after a verification).
                unit.outputs = dict.fromkeys(found.step.outputs)
        elif kind in ("failed", "rejected", "approval_failed", "retrying"):
            unit.error = event.get("error")
            if kind == "failed" and unit.item is not None:
                found.item_failed = True
        elif kind == "planned":
            unit.planned = event.get("request")
            unit.result = {"dry_run": True, "request": event.get("request")}
        elif kind == "approval_requested":
            found.approval = {"requested_at": event["at"], "prompt": event.get("prompt")}
        elif kind == "approved":
            found.approval["approved_by"] = event.get("by")
        if unit.item is None:
            self._refresh(found)

    def doubt_reasons(self) -> dict[str, str]:
        """Why each unit left in doubt by its step's own retry was not sent again."""
        return {
            unit.key: unit.doubt
            for found in self.steps.values()
            for unit in (found.head, *found.units)
            if unit.state == states.IN_DOUBT and unit.doubt
        }

    def _refresh(self, found: StepState) -> None:
        self.views[found.step.id] = found.view()

    def scope(
        self, step: StepState | None = None, item: int | None = None, **extra: Any
    ) -> dict[str, Any]:
        """What expressions read: inputs, steps, run, and item/index/error where they exist."""
        scope: dict[str, Any] = {"inputs": self.inputs, "steps": self.views, "run": self.run}
        if step is not None and item is not None and step.items is not None:
            scope["item"] = step.items[item]
            scope["index"] = item
        if step is not None and step.triggered_by is not None:
            scope["error"] = step.triggered_by
        scope.update(extra)
        return scope
