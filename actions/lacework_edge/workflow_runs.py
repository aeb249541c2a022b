"""lacework_edge.workflow_runs.wait: poll a workflow run until it finishes or runs out of time."""

from __future__ import annotations

from typing import Any

from soarpack.lacework_edge.enums import codes
from soarpack.session import Session

_FINAL = ("SUCCESS", "FAILURE", "UNSURE")


def wait(session: Session, inputs: dict[str, Any]) -> dict[str, Any]:
    table = codes(session, "workflow_run_status")
    final = {table[name] for name in _FINAL}
    budget = float(inputs["timeout_seconds"])
    waited = 0.0  # counted in the engine's (injectable) sleep, so tests need no real time
    polls = 0
    while True:
        run = session.call_action("lacework_edge.workflow_runs.get", {"uuid": inputs["uuid"]})
        polls += 1
        if run.get("status") in final:
            return _result(run, polls, finished=True, timed_out=False)
        if polls == 1:
            ttl = run.get("execution_ttl_sec")
            # 0 (or absent) means the tenant's default of 10 minutes; -1 means no limit.
            ttl = 600 if ttl in (None, 0) else ttl
            if ttl > 0:
                budget = min(budget, float(ttl))
        if waited >= budget:
            return _result(run, polls, finished=False, timed_out=True)
        pause = min(float(inputs["poll_seconds"]), budget - waited)
        session.sleep(pause)
        waited += pause


def _result(run: dict[str, Any], polls: int, *, finished: bool, timed_out: bool) -> dict[str, Any]:
    return {
        "run": run,
        # Named by the engine on the way out of workflow_runs.get (null: not in the table).
        "status_name": run.get("status_name"),
        "finished": finished,
        "timed_out": timed_out,
        "polls": polls,
    }
