"""Actions whose inputs are paths on the server's disk are never served over HTTP."""

from __future__ import annotations

from pathlib import Path

from soarpack.pack import Pack
from soarpack.sandbox import SandboxState
from soarpack.server.exposure import unserved_actions
from tests.server.conftest import Api
from tests.server.test_server_actions import error_of, vendor_requests

INGEST = "netskope.dataexport.ingest"


def test_local_path_actions_are_the_unserved_ones(pack: Pack) -> None:
    assert unserved_actions(pack) == {INGEST}


def test_an_operator_neither_sees_nor_calls_them(
    api: Api, tenant: SandboxState, tmp_path: Path
) -> None:
    target = tmp_path / "chosen-by-caller"
    with api.client("operator") as client:
        listed = {entry["name"] for entry in client.get("/actions").json()}
        described = client.get(f"/actions/{INGEST}")
        called = client.post(
            f"/actions/{INGEST}", json={"streams": ["alerts/dlp"], "output_dir": str(target)}
        )
        document = client.get("/openapi.json").json()
    assert INGEST not in listed
    assert "netskope.alerts.list" in listed
    assert described.status_code == called.status_code == 404
    assert "not served over HTTP" in error_of(called)["message"]
    assert f"/actions/{INGEST}" not in document["paths"]
    # Only this action's requests: a slow call of an earlier test may still land.
    assert [e for e in vendor_requests(tenant) if "dataexport" in e["path"]] == []
    assert not target.exists()
