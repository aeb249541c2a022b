"""`/openapi.json` lists what the caller's key may use, as `GET /actions` does."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from soarpack.pack import Pack
from soarpack.server.exposure import unserved_actions
from tests.server.conftest import Api, ApiFactory

RUN_PATHS = {
    "/runs/{run_id}",
    "/runs/{run_id}/approvals/{step}",
    "/runs/{run_id}/steps/{step}/mark-done",
}


def _actions(document: dict[str, Any]) -> set[str]:
    return {p.removeprefix("/actions/") for p in document["paths"] if p.startswith("/actions/")}


def _both(client: httpx.Client) -> tuple[dict[str, Any], set[str]]:
    document = client.get("/openapi.json")
    listed = client.get("/actions")
    assert document.status_code == listed.status_code == 200
    return document.json(), {entry["name"] for entry in listed.json()}


@pytest.mark.parametrize("key", ["reader", "netskope-reader", "read-runner", "operator"])
def test_the_document_has_the_actions_get_actions_lists(api: Api, key: str) -> None:
    with api.client(key) as client:
        document, listed = _both(client)
    assert _actions(document) == listed
    # What is left is a whole document: every reference still resolves inside it.
    validate(document)


def test_a_read_only_key_sees_no_write_or_destructive_operation(api: Api, pack: Pack) -> None:
    with api.client("reader") as client:
        document, _ = _both(client)
    side_effects = {
        op["x-side-effect"]
        for path, item in document["paths"].items()
        for op in item.values()
        if "x-side-effect" in op
    }
    assert side_effects == {"read"}
    reads = {s.name for s in pack.actions.values() if s.side_effect == "read"}
    assert _actions(document) == reads - unserved_actions(pack)
    # No playbook to start, no run to see or decide: the key has no playbook patterns.
    assert [p for p in document["paths"] if p.startswith(("/playbooks/", "/runs/"))] == []
    # The write actions' schemas went with their operations.
    assert "lacework_edge.users.suspend.input" not in document["components"]["schemas"]
    assert "Error" in document["components"]["schemas"]


def test_playbooks_and_runs_follow_the_key(api: Api, pack: Pack) -> None:
    with api.client("read-runner") as client:
        reader, _ = _both(client)
    with api.client("operator") as client:
        operator, _ = _both(client)
    starts = {
        path: item["post"]["x-actions"]
        for path, item in operator["paths"].items()
        if path.startswith("/playbooks/")
    }
    assert len(starts) == len(list(pack.playbooks_dir.glob("*.yaml")))
    assert "lacework_edge.users.suspend" in starts["/playbooks/cross-vendor-response/runs"]
    # read-runner may start any playbook by name, but only those that run reads alone.
    only_reads = {
        path
        for path, used in starts.items()
        if all(pack.actions[name].side_effect == "read" for name in used)
    }
    assert 0 < len(only_reads) < len(starts)
    assert {p for p in reader["paths"] if p.startswith("/playbooks/")} == only_reads
    # It may see runs, but not decide approvals or settle steps: it has no `approve`.
    assert set(reader["paths"]) & RUN_PATHS == {"/runs/{run_id}"}
    assert set(operator["paths"]) >= RUN_PATHS


def test_anonymous_callers_see_the_anonymous_scope(make_api: ApiFactory, pack: Pack) -> None:
    api = make_api(allow_anonymous=True)
    with api.client(key=None) as client:
        document, listed = _both(client)
    assert _actions(document) == listed
    assert {s.side_effect for s in pack.actions.values() if s.name in listed} == {"read"}
