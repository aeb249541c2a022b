"""Over HTTP: a key's side-effect scope holds against what a request can do, and a
destructive action without its target is bad input (issue 17, section 1)."""

from __future__ import annotations

from typing import Any

import pytest

from soarpack.sandbox import SandboxState
from soarpack.server.auth import hash_key, new_key
from tests.server.conftest import SECRETS, ApiFactory
from tests.server.test_server_actions import error_of, vendor_requests

WRITER = new_key()  # side_effects [read, write]: the key of the reproducer
KEYS = [
    {"id": "writer", "sha256": hash_key(WRITER), "side_effects": ["read", "write"]},
    {
        "id": "operator",
        "sha256": hash_key(SECRETS["operator"]),
        "side_effects": ["read", "write", "destructive"],
    },
]
USER = "ex-users-1"


@pytest.mark.parametrize(
    "inputs",
    [
        pytest.param({"uuid": USER, "user": {"status": 3}}, id="suspend-by-status"),
        pytest.param({"uuid": USER, "user": {"status": 4}}, id="delete-by-status"),
        pytest.param({"uuid": USER, "user": {"display_name": "Jane"}}, id="even-a-rename"),
    ],
)
def test_a_read_write_key_may_not_call_users_update(
    make_api: ApiFactory, tenant: SandboxState, inputs: dict[str, Any]
) -> None:
    api = make_api(keys=KEYS)
    with api.client(WRITER) as client:
        response = client.post("/actions/lacework_edge.users.update", json=inputs)
    assert response.status_code == 403
    error = error_of(response)
    assert "destructive" in error["message"]
    assert vendor_requests(tenant) == []
    assert tenant.lacework_edge.store("users").require(USER)["status"] != 4


def test_a_read_write_key_renames_through_the_narrow_write(
    make_api: ApiFactory, tenant: SandboxState
) -> None:
    api = make_api(keys=KEYS)
    with api.client(WRITER) as client:
        response = client.post(
            "/actions/lacework_edge.users.update_profile",
            json={"uuid": USER, "user": {"display_name": "Jane Renamed"}},
        )
        smuggled = client.post(
            "/actions/lacework_edge.users.update_profile",
            json={"uuid": USER, "user": {"status": 3}},
        )
    assert response.status_code == 200, response.text
    assert tenant.lacework_edge.store("users").require(USER)["display_name"] == "Jane Renamed"
    assert smuggled.status_code == 400
    assert "/user/status" in {p["pointer"] for p in error_of(smuggled)["errors"]}
    patches = [e for e in vendor_requests(tenant) if e["method"] == "PATCH"]
    assert len(patches) == 1


@pytest.mark.parametrize(
    ("action", "inputs", "pointer"),
    [
        pytest.param("lacework_edge.devices.delete", {}, "/devices", id="devices-none"),
        pytest.param("lacework_edge.devices.delete", {"devices": []}, "/devices", id="devices-[]"),
        pytest.param(
            "lacework_edge.devices.delete",
            {"devices": [{"uuid": "ex-devices-1", "user_uuid": ""}]},
            "/devices/0/user_uuid",
            id="device-user-empty",
        ),
        pytest.param("lacework_edge.tokens.update", {"uuid": ""}, "/uuid", id="tokens.update"),
    ],
)
def test_a_destructive_action_without_its_target_is_400_and_nothing_is_sent(
    make_api: ApiFactory, tenant: SandboxState, action: str, inputs: dict[str, Any], pointer: str
) -> None:
    api = make_api(keys=KEYS)
    with api.client("operator") as client:
        response = client.post(f"/actions/{action}", json=inputs)
    assert response.status_code == 400
    error = error_of(response)
    assert (error["type"], error["exit_code"]) == ("InputError", 3)
    assert pointer in {p["pointer"] for p in error["errors"]}
    assert vendor_requests(tenant) == []
