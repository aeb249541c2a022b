"""The generated Lacework Edge declarations: in step with the seed, and faithful to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tools.lacework_edge import convert
from tools.lacework_edge.seed import read_seed

SEED_ABSENT = not convert.SEED.is_file()
needs_seed = pytest.mark.skipif(
    SEED_ABSENT,
    reason=f"the vendor document {convert.SEED} is not here (it lives beside the repo, in shared/seeds)",
)
COMMITTED = json.loads((REPO / "schemas/lacework_edge/operations.json").read_text("utf-8"))
ACTIONS: dict[str, Any] = COMMITTED["actions"]


@needs_seed
def test_committed_declarations_match_the_converter() -> None:
    produced = convert.render(convert.convert())
    committed = (REPO / "schemas/lacework_edge/operations.json").read_text("utf-8")
    assert produced == committed, "run `python -m tools.lacework_edge.convert` and commit"


@needs_seed
def test_every_operation_of_the_seed_is_an_action() -> None:
    operations = read_seed(convert.SEED)
    assert len(operations) == 93
    assert sorted(a["operation"]["summary"] for a in ACTIONS.values()) == sorted(
        op.summary for op in operations
    )


def _input(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = ACTIONS[f"lacework_edge.{name}"]["input"]
    return schema


@pytest.mark.parametrize(
    ("action", "field", "expected"),
    [
        pytest.param(
            "accesses.create",
            "access_type",
            {"type": "integer", "enum": [0, 1, 2, 3], "description": "Type of access allowed."},
            id="enum-and-description",
        ),
        pytest.param(
            "data_export_configs.create",
            "data_export_types",
            {
                "type": "array",
                "items": {"type": "integer", "enum": [0, 1, 2, 3, 4, 51, 52, 53]},
                "x-proto-type": "proto.DataExportType",
                # A target of the destructive export: required and never empty.
                "x-target": True,
                "minItems": 1,
            },
            id="array-items-enum",
        ),
        pytest.param(
            "workflow_runs.query",
            "status",
            {
                "type": "string",
                "enum": ["CREATED", "PENDING", "SUCCESS", "FAILURE", "UNSURE"],
                "description": "status to filter by",
            },
            id="string-enum",
        ),
        pytest.param(
            "tokens.create_temporary_access",
            "ttl_sec",
            {
                "type": "integer",
                "description": "Time to live in seconds.",
                "minimum": 60,
                "maximum": 86400,
            },
            id="bounded-by-the-table",
        ),
    ],
)
def test_fields_keep_the_seeds_types_enums_and_descriptions(
    action: str, field: str, expected: dict[str, Any]
) -> None:
    assert _input(action)["properties"][field] == expected


def test_required_flags_and_placement() -> None:
    alerts = ACTIONS["lacework_edge.alerts.query"]
    assert alerts["input"]["required"] == ["start_time", "end_time", "status_filter"]
    assert alerts["http"] == {
        "method": "GET",
        "path": "/api/v1/alerts",
        "query": ["start_time", "end_time", "status_filter"],
    }
    update = ACTIONS["lacework_edge.users.update"]
    assert update["input"]["required"] == ["uuid"]
    assert update["http"]["path"] == "/api/v1/users/{uuid}"
    # the body repeats the path's id: one input fills both
    assert "uuid" in update["http"]["body"]
    integration = _input("integrations.create")
    assert {"data_source", "display_name"} <= set(integration["required"])


def test_nameless_object_rows_take_their_names_from_the_request_sample() -> None:
    investigate = _input("alerts.investigate")["properties"]
    action = investigate["action"]
    assert action["x-proto-type"] == "proto.InvestigationAction"
    assert set(action["properties"]) >= {"action_type", "alert_status_change", "note"}


def test_enum_status_is_accepted_and_returned_by_name() -> None:
    status = _input("users.update")["properties"]["user"]["properties"]["status"]
    assert status["x-enum-names"] == {"INIT": 1, "ACTIVE": 2, "SUSPENDED": 3, "DELETED": 4}
    assert "SUSPENDED" in status["enum"] and 3 in status["enum"]
    output = ACTIONS["lacework_edge.users.get"]["output"]["properties"]
    assert "status_name" in output and output["status"]["x-enum-names"]["ACTIVE"] == 2


def test_bindings_are_marked_documented_only_where_the_vendor_documents_them() -> None:
    documented = sorted(n for n, a in ACTIONS.items() if a["operation"]["binding"] == "documented")
    assert documented == [
        "lacework_edge.apps.create",
        "lacework_edge.groups.get",
        "lacework_edge.users.create",
        "lacework_edge.users.query",
    ]


def test_secret_fields_of_answers_are_marked() -> None:
    login = ACTIONS["lacework_edge.auth.token_login"]["output"]["properties"]
    assert login["token"].get("x-secret") is True
    temporary = ACTIONS["lacework_edge.tokens.create_temporary_access"]["output"]["properties"]
    assert temporary["secret"].get("x-secret") is True


@needs_seed
def test_the_converter_fails_loudly_on_a_seed_it_cannot_read(tmp_path: Path) -> None:
    broken = tmp_path / "seed.txt"
    broken.write_text("Not the Lacework document\n", encoding="utf-8")
    with pytest.raises(ValueError, match="does not start with the Lacework Edge API title"):
        convert.convert(broken)


def test_every_operation_declares_why_it_has_its_side_effect() -> None:
    for name, action in ACTIONS.items():
        assert action["side_effect"] in ("read", "write", "destructive"), name
        assert action["side_effect_reason"].strip(), name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        # Issue 17's reproducer: its body's user.status suspends (3) or deletes (4).
        pytest.param("users.update", "user.status SUSPENDED", id="users.update"),
        pytest.param("tokens.create", "issues an API credential", id="tokens.create"),
        pytest.param("tokens.update", "revokes it", id="tokens.update"),
        pytest.param("tokens.create_temporary_access", "credential", id="temporary-access"),
        pytest.param("accesses.update", "revoked_user_list", id="accesses.update"),
        pytest.param("policies.update", "turns it off", id="policies.update"),
        pytest.param("alerts.investigate", "RUN_WORKFLOW", id="alerts.investigate"),
        pytest.param("workflow_runs.answer", "grants the access", id="workflow_runs.answer"),
    ],
)
def test_operations_that_can_do_harm_are_destructive_whatever_their_verb(
    name: str, why: str
) -> None:
    action = ACTIONS[f"lacework_edge.{name}"]
    assert action["side_effect"] == "destructive"
    assert why in action["side_effect_reason"]


def test_targets_are_required_and_non_empty_with_the_vendors_view_marked() -> None:
    devices = _input("devices.delete")
    assert devices["required"] == ["devices"]
    listed = devices["properties"]["devices"]
    assert listed["minItems"] == 1 and listed["x-target"] is True
    assert listed["items"]["required"] == ["uuid", "user_uuid"]
    assert all(listed["items"]["properties"][f]["minLength"] == 1 for f in ("uuid", "user_uuid"))


@needs_seed
def test_the_converter_refuses_a_destructive_operation_without_targets(tmp_path: Path) -> None:
    table = convert.TABLE.read_text(encoding="utf-8")
    without = table.replace('  devices.delete: ["devices[].uuid", "devices[].user_uuid"]\n', "")
    assert without != table
    edited = tmp_path / "ops.yaml"
    edited.write_text(without, encoding="utf-8")
    with pytest.raises(SystemExit, match=r"devices\.delete is destructive: give it targets"):
        convert.convert(table_path=edited)


@needs_seed
def test_the_converter_refuses_a_row_without_a_reason(tmp_path: Path) -> None:
    table = convert.TABLE.read_text(encoding="utf-8")
    without = table.replace(
        'destructive,\n    "deletes devices: their users lose the device identity policies admit them by"]',
        'destructive, ""]',
    )
    assert without != table
    edited = tmp_path / "ops.yaml"
    edited.write_text(without, encoding="utf-8")
    with pytest.raises(SystemExit, match=r"devices\.delete: needs a side effect"):
        convert.convert(table_path=edited)
