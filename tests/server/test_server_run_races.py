"""Runs over HTTP against outside callers: a retried or doubled decision, a conflicting
one (409 naming it), a run driven elsewhere (409 with the pid), and settling a step in
doubt by hand (mark-done)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from soarpack.config import Config
from soarpack.engine import Engine
from soarpack.pack import Pack
from soarpack.playbook import run_playbook
from soarpack.playbook.journal import read_events
from soarpack.sandbox import RunningServer, SandboxState
from tests.playbook.test_run_locks import held_by_another_process
from tests.server.conftest import Api, sandbox_env
from tests.server.test_server_runs import error_of, patches, start


@pytest.fixture(autouse=True)
def unsuspended(tenant: SandboxState) -> Iterator[None]:
    """The session's sandbox is shared: the user these runs suspend is put back after."""
    users = tenant.lacework_edge.store("users")
    saved = copy.deepcopy(users.require("ex-users-1"))
    yield
    users.put(saved)


def _waiting_run(api: Api) -> str:
    run_id = str(start(api).json()["run_id"])
    assert api.wait_for_run(run_id, "waiting")["status"] == "waiting"
    return run_id


def _decide(api: Api, run_id: str, approve: bool, by: str) -> httpx.Response:
    with api.client("operator") as client:
        return client.post(f"/runs/{run_id}/approvals/suspend", json={"approve": approve, "by": by})


def _decisions(api: Api, run_id: str) -> list[dict[str, Any]]:
    events = read_events(api.runs / run_id / "journal.jsonl")
    return [e for e in events if e["ev"] in ("approved", "rejected")]


def test_a_decision_sent_again_is_200_and_a_conflicting_one_is_409_naming_it(
    api: Api, tenant: SandboxState
) -> None:
    run_id = _waiting_run(api)
    first = _decide(api, run_id, True, "alice")
    assert first.status_code == 200 and "already_recorded" not in first.json()
    again = _decide(api, run_id, True, "alice")  # a SOAR platform retrying the POST
    assert again.status_code == 200
    assert again.json() == {**first.json(), "already_recorded": True}
    other = _decide(api, run_id, False, "bob")
    assert other.status_code == 409
    error = error_of(other)
    assert error["type"] == "DecisionConflict" and error["exit_code"] == 14
    assert (error["decision"], error["by"], error["at"]) == (
        "approved",
        "alice (API key operator)",
        first.json()["t"],
    )
    assert "already approved by alice (API key operator) at" in error["message"]
    assert api.wait_for_run(run_id, "succeeded", "failed")["status"] == "succeeded"
    assert len(patches(tenant)) == 1 and len(_decisions(api, run_id)) == 1


def test_four_parallel_approvals_record_one_and_the_run_suspends_once(
    api: Api, tenant: SandboxState
) -> None:
    run_id = _waiting_run(api)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: _decide(api, run_id, True, f"op{n}"), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert sum(1 for a in answers if not a.json().get("already_recorded")) == 1
    [recorded] = _decisions(api, run_id)
    assert {a.json()["by"] for a in answers} == {recorded["by"]}
    assert api.wait_for_run(run_id, "succeeded", "failed")["status"] == "succeeded"
    assert len(patches(tenant)) == 1


NOTE_BOOK = """
name: note-once
description: one unverifiable write
steps:
  - id: note
    action: lacework_edge.alerts.add_note
    with: {alert_uuid: ex-alerts-1, note: checked by hand}
"""


class Killed(BaseException):
    """The process died here."""


class KillAfterNote(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and "ex-alerts-1" in request.url.path:
            response.read()
            response.close()
            raise Killed("after the note arrived")
        return response

    def close(self) -> None:
        self.inner.close()


def _notes(tenant: SandboxState) -> list[dict[str, Any]]:
    return [
        e for e in tenant.logged_requests() if e["method"] == "POST" and "ex-alerts-1" in e["path"]
    ]


def test_mark_done_over_http_settles_a_step_in_doubt_and_refuses_what_it_must(
    api: Api,
    tenant: SandboxState,
    sandbox: tuple[SandboxState, RunningServer],
    pack: Pack,
    tmp_path: Path,
) -> None:
    book = tmp_path / "note-once.yaml"
    book.write_text(NOTE_BOOK, encoding="utf-8")
    ids: list[str] = []
    config = Config(env=sandbox_env(sandbox[1].base_url))
    killer = KillAfterNote()
    with (
        Engine(pack, config, transports={"lacework_edge": killer}) as engine,
        pytest.raises(Killed),
    ):
        run_playbook(
            book,
            engine=engine,
            runs_dir_path=api.runs,
            on_event=lambda e: ids.append(e["run_id"]) if e["ev"] == "run_started" else None,
        )
    killer.close()
    [run_id] = ids
    assert len(_notes(tenant)) == 1
    path = f"/runs/{run_id}/steps/note/mark-done"
    body = {"by": "dana", "reason": "the note is on the alert"}
    with api.client("runner-no-approve") as client:
        assert client.post(path, json=body).status_code == 403
    with api.client("operator") as client:
        bad = client.post(path, json={"by": "dana"})
        assert bad.status_code == 400
        assert [p["pointer"] for p in error_of(bad)["errors"]] == ["/reason"]
        with held_by_another_process(api.runs / run_id / "lock") as pid:
            busy = client.post(path, json=body)
        assert busy.status_code == 409
        assert error_of(busy)["type"] == "RunBusyError" and error_of(busy)["pid"] == pid
        assert error_of(busy)["message"].startswith(f"run {run_id} is being driven by pid {pid}")
        assert error_of(busy)["exit_code"] == 13
        wrong = client.post(f"/runs/{run_id}/steps/nope/mark-done", json=body)
        assert wrong.status_code == 409 and "not in doubt" in error_of(wrong)["message"]
        marked = client.post(path, json=body)
    assert marked.status_code == 200, marked.text
    assert marked.json()["ev"] == "marked_done"
    assert marked.json()["by"] == "dana (API key operator)"
    assert api.wait_for_run(run_id, "succeeded", "failed", "in_doubt")["status"] == "succeeded"
    assert len(_notes(tenant)) == 1  # never sent again


def test_the_openapi_document_lists_mark_done_and_the_409s(api: Api) -> None:
    # A key that may decide: the document lists only what the caller's key may use.
    with api.client("operator") as client:
        paths = client.get("/openapi.json").json()["paths"]
    mark = paths["/runs/{run_id}/steps/{step}/mark-done"]["post"]
    assert mark["operationId"] == "markStepDone"
    assert mark["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MarkDone"
    }
    assert "409" in mark["responses"]
    decide = paths["/runs/{run_id}/approvals/{step}"]["post"]["responses"]
    assert "already_recorded" in decide["200"]["description"] and "409" in decide
