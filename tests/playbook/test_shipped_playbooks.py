"""The playbooks the pack ships, end to end on the in-process sandbox (all four
connections on one simulated tenant): outputs, and what each simulator was sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from soarpack.pack import Pack
from soarpack.playbook import RunResult, approve, resume_run, run_playbook, validate_playbook
from tests.playbook.conftest import Sandbox

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
SHIPPED = [
    "cross-vendor-response",
    "lacework-edge-contain-user",
    "lacework-edge-revoke-document-sharing",
    "netskope-dlp-alerts-triage",
    "unmanaged-device-sweep",
]
READ_METHODS = {"GET", "HEAD"}


# -- helpers ---------------------------------------------------------------------------
def vendor(entry: dict[str, Any]) -> str:
    """Which simulator logged the entry (all four share one request log)."""
    if "action" in entry:
        return "lacework_edge"
    return "metaaccess" if entry["path"].startswith("/o/") else "netskope"


def requests(sandbox: Sandbox, of: str | None = None) -> list[dict[str, Any]]:
    return [e for e in sandbox.state.logged_requests() if of is None or vendor(e) == of]


def lines(sandbox: Sandbox, of: str) -> list[str]:
    """`METHOD path` of every request one simulator received, in order."""
    return [f"{e['method']} {e['path']}" for e in requests(sandbox, of)]


def edge_writes(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [e for e in requests(sandbox, "lacework_edge") if e["method"] not in READ_METHODS]


def run(sandbox: Sandbox, name: str, inputs: dict[str, Any], **options: Any) -> RunResult:
    return run_playbook(name, inputs, engine=sandbox.engine, runs_dir_path=sandbox.runs, **options)


def approve_and_resume(
    sandbox: Sandbox, paused: RunResult, step: str, **decision: Any
) -> RunResult:
    approve(paused.run_id, step, by="alice", runs_dir_path=sandbox.runs, **decision)
    return resume_run(paused.run_id, engine=sandbox.engine, runs_dir_path=sandbox.runs)


def edge_record(sandbox: Sandbox, area: str, key: str) -> dict[str, Any] | None:
    """A record of the simulated Lacework Edge tenant, as stored (None if there is none)."""
    found: dict[str, Any] | None = sandbox.state.lacework_edge.store(area).get(key)
    return found


def edge(sandbox: Sandbox, area: str, key: str) -> dict[str, Any]:
    found = edge_record(sandbox, area, key)
    assert found is not None, f"no {area} record {key}"
    return found


def user_status(sandbox: Sandbox, uuid: str) -> str:
    """The user's status name as the tenant reads it back (a read, logged like any other)."""
    found = sandbox.engine.invoke("lacework_edge.users.get", {"uuid": uuid})
    return str(found.data["status_name"])


def history(sandbox: Sandbox, alert: str) -> list[dict[str, Any]]:
    return [item["action"] for item in sandbox.state.lacework_edge.history.get(alert, [])]


# -- every shipped playbook ------------------------------------------------------------
def test_the_shipped_set_is_these_five() -> None:
    assert sorted(p.stem for p in PLAYBOOKS.glob("*.yaml")) == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_playbook_is_valid_and_gates_every_destructive_step(name: str, pack: Pack) -> None:
    path = PLAYBOOKS / f"{name}.yaml"
    assert validate_playbook(path, pack) == []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert data["name"] == name
    for prop, schema in data["inputs"]["properties"].items():
        assert schema.get("description"), f"input {prop} has no description"
    for step in data["steps"]:
        assert step.get("description"), f"step {step['id']} has no description"
        if pack.action(step["action"]).side_effect == "destructive":
            assert "approval" in step, step["id"]


# -- lacework-edge-contain-user --------------------------------------------------------
CONTAIN = {"alert_uuid": "ex-alerts-1", "user_uuid": "ex-users-1"}


def test_contain_user_waits_for_approval_then_suspends_deletes_notes_and_closes(
    sandbox: Sandbox,
) -> None:
    devices = [d["uuid"] for d in sandbox.state.lacework_edge.store("devices")]
    owned = [d for d in devices if edge(sandbox, "devices", d)["user_uuid"] == "ex-users-1"]
    assert len(owned) == 2  # the seed: ex-users-1 owns ex-devices-1 and one more

    paused = run(sandbox, "lacework-edge-contain-user", CONTAIN)
    assert paused.status == "waiting" and paused.exit_code == 10
    [waiting] = paused.waiting
    assert waiting["step"] == "suspend"
    assert "Alice Example (alice@acme.example, now ACTIVE)" in waiting["prompt"]
    assert "Alice's macOS device" in waiting["prompt"] and "ex-alerts-1" in waiting["prompt"]
    assert {s: paused.steps[s]["status"] for s in ("get_alert", "get_user", "get_devices")} == {
        "get_alert": "succeeded",
        "get_user": "succeeded",
        "get_devices": "succeeded",
    }
    assert edge_writes(sandbox) == []  # nothing changed before the decision

    done = approve_and_resume(sandbox, paused, "suspend")
    assert done.status == "succeeded" and done.exit_code == 0
    assert done.outputs == {
        "alert_uuid": "ex-alerts-1",
        "user_uuid": "ex-users-1",
        "user": "Alice Example",
        "user_status_before": "ACTIVE",
        "user_status_after": "SUSPENDED",
        "deleted_devices": owned,
        "alert_status_before": "OPEN",
        "alert_closed": True,
        "incident_status": "TRUE_POSITIVE",
    }
    writes = edge_writes(sandbox)
    assert [(w["method"], w["path"], w["action"]) for w in writes] == [
        ("PATCH", "/api/v1/users/ex-users-1", "lacework_edge.users.update"),
        *[("DELETE", "/api/v1/devices", "lacework_edge.devices.delete")] * 2,
        *[
            (
                "POST",
                "/api/v1/alerts/ex-alerts-1/investigation_actions",
                "lacework_edge.alerts.investigate",
            )
        ]
        * 2,
    ]
    assert writes[0]["body"]["user"] == {"status": 3}
    deleted = sorted(w["body"]["devices"][0]["uuid"] for w in writes[1:3])
    assert deleted == sorted(owned)
    assert all(w["body"]["devices"][0]["user_uuid"] == "ex-users-1" for w in writes[1:3])
    assert user_status(sandbox, "ex-users-1") == "SUSPENDED"
    assert all(edge_record(sandbox, "devices", d) is None for d in owned)
    alert = edge(sandbox, "alerts", "ex-alerts-1")
    assert alert is not None and alert["status"] == 3 and alert["incident_status"] == 1
    note, close = history(sandbox, "ex-alerts-1")
    assert paused.run_id in note["note"]["note_text"]
    assert "ACTIVE -> SUSPENDED" in note["note"]["note_text"]
    assert close["close_with_reason"]["note_text"].startswith("Contained by soarpack")


def test_contain_user_rejected_sends_no_change(sandbox: Sandbox) -> None:
    paused = run(sandbox, "lacework-edge-contain-user", CONTAIN)
    done = approve_and_resume(sandbox, paused, "suspend", approved=False, reason="wrong user")
    assert done.status == "failed" and done.exit_code == 12
    assert done.steps["suspend"]["status"] == "failed"
    assert done.steps["suspend"]["error"]["type"] == "ApprovalRejected"
    assert edge_writes(sandbox) == []
    assert user_status(sandbox, "ex-users-1") == "ACTIVE"
    assert edge(sandbox, "alerts", "ex-alerts-1")["status"] == 1


def test_contain_user_dry_run_sends_only_reads_and_lists_every_change(sandbox: Sandbox) -> None:
    planned = run(sandbox, "lacework-edge-contain-user", CONTAIN, dry_run=True)
    assert planned.status == "succeeded" and planned.waiting == []
    assert {e["method"] for e in requests(sandbox)} == {"GET"}  # not one write reached it
    changes = [(c["step"], c["request"]["method"], c["request"]["url"]) for c in planned.changes]
    base = changes[0][2].split("/api/")[0]
    investigate = f"{base}/api/v1/alerts/ex-alerts-1/investigation_actions"
    # In dependency order; the two devices are deleted at the same time (either first).
    changes[1:3] = sorted(changes[1:3])
    assert changes == [
        ("suspend", "PATCH", f"{base}/api/v1/users/ex-users-1"),
        ("delete_devices[0]", "DELETE", f"{base}/api/v1/devices"),
        ("delete_devices[1]", "DELETE", f"{base}/api/v1/devices"),
        ("add_note", "POST", investigate),
        ("close_alert", "POST", investigate),
    ]
    assert planned.changes[0]["request"]["approval"].startswith("would ask: Suspend")
    assert planned.steps["suspend"]["status"] == "dry_run"
    assert user_status(sandbox, "ex-users-1") == "ACTIVE"


def test_contain_user_can_keep_the_devices(sandbox: Sandbox) -> None:
    inputs = {**CONTAIN, "delete_devices": False, "incident_status": "BENIGN"}
    paused = run(sandbox, "lacework-edge-contain-user", inputs)
    assert "these devices of theirs: []" in paused.waiting[0]["prompt"]
    done = approve_and_resume(sandbox, paused, "suspend")
    assert done.status == "succeeded" and done.outputs["deleted_devices"] == []
    assert [w["method"] for w in edge_writes(sandbox)] == ["PATCH", "POST", "POST"]
    assert edge(sandbox, "alerts", "ex-alerts-1")["incident_status"] == 3


# -- lacework-edge-revoke-document-sharing ---------------------------------------------
def documents(sandbox: Sandbox) -> list[str]:
    """The first three seeded documents: two shared (one external, one internal identity
    each), the third shared with nobody."""
    ids = [d["identity"]["id"] for d in sandbox.state.lacework_edge.store("documents")][:3]
    shared = [edge(sandbox, "documents", i)["is_shared_externally"] for i in ids]
    assert ids[0] == "ex-documents-1" and shared == [True, True, False]
    return ids


@pytest.mark.parametrize(
    ("external_only", "with_alert", "still_shared"),
    [
        pytest.param(True, True, 2, id="external-only-with-alert"),
        pytest.param(False, True, 0, id="all-sharing-with-alert"),
        pytest.param(True, False, 2, id="external-only-no-alert"),
    ],
)
def test_revoke_document_sharing(
    sandbox: Sandbox, external_only: bool, with_alert: bool, still_shared: int
) -> None:
    ids = documents(sandbox)
    inputs: dict[str, Any] = {"document_ids": ids, "external_only": external_only}
    if with_alert:
        inputs["alert_uuid"] = "ex-alerts-1"
    paused = run(sandbox, "lacework-edge-revoke-document-sharing", inputs)
    assert paused.status == "waiting" and paused.waiting[0]["step"] == "revoke"
    assert "partner1@partner.example" in paused.waiting[0]["prompt"]
    assert edge_writes(sandbox) == []

    done = approve_and_resume(sandbox, paused, "revoke")
    assert done.status == "succeeded"
    assert done.outputs["revoked"] == ids[:2]  # the unshared document is skipped
    assert done.steps["revoke"]["items"] == {"succeeded": 2, "skipped": 1}
    assert done.outputs["still_shared_externally"] == []
    assert len(done.outputs["still_shared"]) == still_shared
    before = {d["uuid"]: d for d in done.outputs["documents"]}
    assert before[ids[0]]["external"] == ["partner1@partner.example"]
    assert len(before[ids[0]]["internal"]) == 1 and before[ids[2]]["is_shared"] is False

    revokes = [w for w in edge_writes(sandbox) if w["path"].endswith("/revoke_sharing")]
    assert sorted(w["path"] for w in revokes) == sorted(
        f"/api/v1/documents/{i}/revoke_sharing" for i in ids[:2]
    )
    assert all(w["body"]["external_only"] is external_only for w in revokes)
    for doc in ids[:2]:
        left = edge(sandbox, "documents", doc)["external_access"]
        assert [a["target_identity"]["external"] for a in left] == [False] * (still_shared // 2)
    assert done.outputs["alert_noted"] is with_alert
    assert done.outputs["alert_acknowledged"] is with_alert
    actions = history(sandbox, "ex-alerts-1")
    if with_alert:
        assert [sorted(a) for a in actions] == [
            ["action_type", "note"],
            ["action_type", "alert_status_change"],
        ]
        assert ids[0] in actions[0]["note"]["note_text"]
        assert edge(sandbox, "alerts", "ex-alerts-1")["status"] == 2
    else:
        assert actions == [] and len(edge_writes(sandbox)) == 2
        assert not any(e["path"].startswith("/api/v1/alerts") for e in requests(sandbox))


# -- netskope-dlp-alerts-triage --------------------------------------------------------
@pytest.mark.parametrize(
    ("timeperiod", "max_users"),
    [
        pytest.param(604800, 3, id="7-days-top-3"),
        pytest.param(86400, 1, id="1-day-top-1"),
        pytest.param(2592000, 10, id="30-days-default-top"),
    ],
)
def test_dlp_triage_summarises_per_user_and_only_reads(
    sandbox: Sandbox, timeperiod: int, max_users: int
) -> None:
    inputs = {"timeperiod": timeperiod}
    if max_users != 10:
        inputs["max_users"] = max_users
    done = run(sandbox, "netskope-dlp-alerts-triage", inputs)
    assert done.status == "succeeded"
    out = done.outputs
    report = done.steps["by_user"]["outputs"]["rows"]
    assert out["users"] == len(report) > max_users
    assert out["alerts"] == sum(r["count"] for r in report) > 0  # list and report agree
    assert sum(out["by_severity"].values()) == out["alerts"]
    assert len(out["critical_alerts"]) == out["by_severity"]["critical"]
    assert [u["user"] for u in out["top_users"]] == [r["user"] for r in report[:max_users]]
    for summary in out["top_users"]:
        clients = [
            c
            for c in sandbox.state.clients
            if any(u.get("username") == summary["user"] for u in c.get("users", []))
        ]
        assert summary["devices"] == len(clients) == len(summary["hostnames"])
        assert set(summary["unmanaged"]) <= set(summary["hostnames"])
    assert out["users_on_unmanaged_devices"] == [
        u["user"] for u in out["top_users"] if u["unmanaged"]
    ]

    assert requests(sandbox, "lacework_edge") == requests(sandbox, "metaaccess") == []
    sent = requests(sandbox, "netskope")
    assert lines(sandbox, "netskope").count("POST /api/v1/alerts") == 1
    assert lines(sandbox, "netskope").count("POST /api/v1/report") == 1
    lookups = [e["body"]["query"] for e in sent if e["path"] == "/api/v1/clients"]
    assert sorted(lookups) == sorted(f"users.username eq '{u['user']}'" for u in out["top_users"])
    assert len(sent) == 2 + max_users


# -- unmanaged-device-sweep ------------------------------------------------------------
UNMANAGED = 1  # device_classification_status, as the tenant stores it (schemas/netskope/codes.json)


def unmanaged_in(client: dict[str, Any]) -> bool:
    return any(u.get("device_classification_status") == UNMANAGED for u in client["users"])


@pytest.mark.parametrize(
    "statuses",
    [
        pytest.param(None, id="default-non-compliant"),
        pytest.param(["non_compliant", "pending"], id="non-compliant-or-pending"),
    ],
)
def test_unmanaged_device_sweep_cross_checks_metaaccess_with_netskope(
    sandbox: Sandbox, statuses: list[str] | None
) -> None:
    inputs = {} if statuses is None else {"statuses": statuses}
    first = run(sandbox, "unmanaged-device-sweep", inputs)
    assert first.status == "succeeded"
    out = first.outputs
    assert out["netskope_clients"] == len(sandbox.state.clients) == 300
    assert out["unmanaged_clients"] == sum(unmanaged_in(c) for c in sandbox.state.clients) > 0
    devices = out["out_of_compliance"]
    assert devices and {d["status"] for d in devices} == set(statuses or ["non_compliant"])
    assert all(d["hostname"] != "<private>" for d in devices)
    # The sandbox's two vendors name hosts differently: nothing matches until we plant it.
    assert out["out_of_compliance_not_in_netskope"] == devices
    assert out["out_of_compliance_unmanaged"] == []
    lookups = [e["body"]["query"] for e in requests(sandbox, "netskope") if "query" in e["body"]]
    assert sorted(lookups) == sorted(f"host_info.hostname eq '{d['hostname']}'" for d in devices)
    assert {e["path"] for e in requests(sandbox, "metaaccess")} == {
        "/o/api/v3/devices/status_changed"
    }
    assert all(e["body"]["verbose"] == 1 for e in requests(sandbox, "metaaccess"))
    assert requests(sandbox, "lacework_edge") == []

    # Give an unmanaged Netskope client and a managed one the names of two of them.
    unmanaged = next(c for c in sandbox.state.clients if unmanaged_in(c))
    managed = next(c for c in sandbox.state.clients if not unmanaged_in(c))
    unmanaged["host_info"]["hostname"] = devices[0]["hostname"]
    managed["host_info"]["hostname"] = devices[1]["hostname"]
    again = run(sandbox, "unmanaged-device-sweep", inputs).outputs
    [flagged] = again["out_of_compliance_unmanaged"]
    assert flagged["device_id"] == devices[0]["device_id"]
    assert flagged["netskope_clients"] == 1 and flagged["netskope_users"] == [
        u["username"] for u in unmanaged["users"]
    ]
    by_id = {d["device_id"]: d for d in again["out_of_compliance"]}
    assert by_id[devices[1]["device_id"]]["netskope_clients"] == 1
    assert by_id[devices[1]["device_id"]]["netskope_unmanaged"] is False
    assert len(again["out_of_compliance_not_in_netskope"]) == len(devices) - 2


# -- cross-vendor-response -------------------------------------------------------------
def test_cross_vendor_response_reads_three_vendors_then_suspends_after_approval(
    sandbox: Sandbox,
) -> None:
    inputs = {"lacework_user_uuid": "ex-users-1", "lacework_alert_uuid": "ex-alerts-1"}
    paused = run(sandbox, "cross-vendor-response", inputs)
    assert paused.status == "waiting"
    [waiting] = paused.waiting
    suspect = paused.steps["dlp_by_user"]["outputs"]["suspect"]
    assert waiting["step"] == "suspend" and suspect in waiting["prompt"]
    assert "Suspend Lacework Edge user Alice Example" in waiting["prompt"]
    assert edge_writes(sandbox) == []
    assert sorted(lines(sandbox, "netskope")) == [
        "POST /api/v1/alerts",
        "POST /api/v1/clients",
        "POST /api/v1/report",
    ]
    assert lines(sandbox, "metaaccess") == ["POST /o/api/v3/devices/status_changed"]

    done = approve_and_resume(sandbox, paused, "suspend")
    assert done.status == "succeeded"
    out = done.outputs
    assert out["netskope_user"] == suspect and out["dlp_alerts"] >= 1
    assert len(out["dlp_files"]) == out["dlp_alerts"]
    assert set(out["unmanaged_devices"]) <= set(out["netskope_devices"])
    assert out["metaaccess_non_compliant"] <= out["metaaccess_changed"]
    assert (out["lacework_status_before"], out["lacework_status_after"]) == ("ACTIVE", "SUSPENDED")
    assert out["alert_noted"] is True
    assert [(w["method"], w["path"]) for w in edge_writes(sandbox)] == [
        ("PATCH", "/api/v1/users/ex-users-1"),
        ("POST", "/api/v1/alerts/ex-alerts-1/investigation_actions"),
    ]
    [note] = history(sandbox, "ex-alerts-1")
    assert suspect in note["note"]["note_text"]


def test_cross_vendor_response_picks_the_given_netskope_user_and_no_alert(
    sandbox: Sandbox,
) -> None:
    user = sandbox.state.clients[0]["users"][0]["username"]
    inputs = {"lacework_user_uuid": "ex-users-1", "netskope_user": user}
    done = approve_and_resume(sandbox, run(sandbox, "cross-vendor-response", inputs), "suspend")
    assert done.status == "succeeded" and done.outputs["netskope_user"] == user
    assert done.outputs["alert_noted"] is False and done.steps["note"]["status"] == "skipped"
    assert [w["method"] for w in edge_writes(sandbox)] == ["PATCH"]
