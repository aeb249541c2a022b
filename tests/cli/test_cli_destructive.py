"""`soarpack invoke` of a destructive action without a target: exit 3, nothing sent.

Issue 17's reproducer: `lacework_edge.devices.delete` with `{}` or `{"devices": []}` sent
`DELETE /api/v1/devices` and exited 0.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from soarpack import exitcodes
from soarpack.cli.main import main
from soarpack.sandbox import SandboxState, create_sandbox_app, start_server
from soarpack.sandbox.apps import connection_env
from tests.conftest import CANARY


@pytest.fixture
def tenant(monkeypatch: pytest.MonkeyPatch) -> Iterator[SandboxState]:
    state = SandboxState(token=CANARY)
    with start_server(create_sandbox_app(state)) as server:
        for name, value in connection_env(server.base_url, CANARY).items():
            monkeypatch.setenv(name, value)
        yield state


@pytest.mark.parametrize(
    ("action", "inputs", "pointer"),
    [
        pytest.param("lacework_edge.devices.delete", {}, "/devices", id="devices-none"),
        pytest.param("lacework_edge.devices.delete", {"devices": []}, "/devices", id="devices-[]"),
        pytest.param(
            "lacework_edge.devices.delete",
            {"devices": [{"uuid": "", "user_uuid": "ex-users-1"}]},
            "/devices/0/uuid",
            id="device-id-empty",
        ),
        pytest.param("lacework_edge.users.suspend", {"user_uuid": ""}, "/user_uuid", id="suspend"),
        pytest.param("lacework_edge.users.update", {"uuid": ""}, "/uuid", id="users.update"),
        pytest.param("netskope.client_status.delete", {}, "/index", id="client_status.delete"),
    ],
)
def test_a_destructive_action_without_its_target_exits_3_and_sends_nothing(
    tenant: SandboxState,
    capsys: pytest.CaptureFixture[str],
    action: str,
    inputs: dict[str, object],
    pointer: str,
) -> None:
    code = main(["invoke", action, "--input", json.dumps(inputs)])
    out, err = capsys.readouterr()
    assert code == exitcodes.BAD_INPUT == 3
    assert "Traceback" not in err and CANARY not in out + err
    assert pointer in out + err
    assert tenant.logged_requests() == []


def test_with_its_target_the_same_call_is_sent_once(
    tenant: SandboxState, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control: the request log above is empty because nothing was sent."""
    inputs = {"devices": [{"uuid": "ex-devices-1", "user_uuid": "ex-users-1"}]}
    code = main(["invoke", "lacework_edge.devices.delete", "--input", json.dumps(inputs)])
    capsys.readouterr()
    assert code == 0
    deletes = [e for e in tenant.logged_requests() if e["method"] == "DELETE"]
    assert [e["path"].rsplit("/", 1)[-1] for e in deletes] == ["devices"]
