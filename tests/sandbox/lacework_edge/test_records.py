"""Lacework Edge simulator: generic records, filters, users, devices, documents, tokens."""

from __future__ import annotations

from typing import Any

from soarpack.sandbox.lacework_edge.data import ID_FIELDS
from soarpack.sandbox.lacework_edge.records import record_schema
from tests.sandbox.lacework_edge.helpers import (
    START,
    Edge,
    edge,
    make_state,
    message,
    ok,
    open_edge,
)

__all__ = ["edge"]


# --- generic create / get / update / query ----------------------------------------------


def test_create_answers_a_fresh_record_with_the_documented_status(edge: Edge) -> None:
    created = ok(edge.http.post("/api/v1/accesses", json={"description": "vpn"}), "accesses.create")
    assert created["description"] == "vpn"
    assert created["uuid"] and created["uuid"] not in ("ex-accesses-1",)
    assert created["account_name"] == "acme"
    assert created["status"] == 2  # ACTIVE by default
    assert created["create_time"] == created["update_time"] >= int(START * 1000)
    assert created["creator_uuid"] == edge.tenant.api_user_uuid
    fetched = ok(edge.http.get(f"/api/v1/accesses/{created['uuid']}"), "accesses.get")
    assert fetched == created
    other = ok(edge.http.post("/api/v1/accesses", json={}), "accesses.create")
    assert other["uuid"] != created["uuid"]


def test_create_with_a_wrapped_record_and_a_status_name(edge: Edge) -> None:
    app = ok(
        edge.http.post("/api/v1/apps", json={"app": {"name": "wiki", "status": "INIT"}}),
        "apps.create",
    )
    assert (app["name"], app["status"]) == ("wiki", 1)
    assert edge.http.post("/api/v1/apps", json={}).status_code == 200  # apps.create documents 200


def test_get_unknown_is_404(edge: Edge) -> None:
    assert "not found" in message(edge.http.get("/api/v1/groups/nope"), 404)
    message(edge.http.get("/api/v1/connectors/nope"), 404)
    message(edge.http.get("/api/v1/blobs/nope"), 404)
    message(edge.http.patch("/api/v1/policies/nope", json={}), 404)


def test_update_merges_only_the_given_fields(edge: Edge) -> None:
    before = ok(edge.http.get("/api/v1/accesses/ex-accesses-1"), "accesses.get")
    edge.clock.advance(1)
    after = ok(
        edge.http.patch("/api/v1/accesses/ex-accesses-1", json={"access": {"description": "new"}}),
        "accesses.update",
    )
    assert after["description"] == "new"
    assert after["update_time"] > before["update_time"]
    unchanged = {k: v for k, v in before.items() if k not in ("description", "update_time")}
    assert {k: after[k] for k in unchanged} == unchanged


def test_update_time_strictly_increases_without_the_clock_moving(edge: Edge) -> None:
    times = []
    for text in ("a", "b", "c"):
        body = edge.http.patch("/api/v1/workflows/ex-workflows-1", json={"description": text})
        times.append(ok(body, "workflows.update")["update_time"])
    assert times == sorted(set(times))


def test_attributes_to_delete_reset_fields(edge: Edge) -> None:
    edge.http.patch(
        "/api/v1/posture_profiles/ex-posture_profiles-1",
        json={"description": "x", "posture_tag_value": "t"},
    )
    reset = edge.http.patch(
        "/api/v1/posture_profiles/ex-posture_profiles-1",
        json={"attributes_to_delete": ["description"]},
    )
    body = ok(reset, "posture_profiles.update")
    assert (body["description"], body["posture_tag_value"]) == ("", "t")


def test_update_answers_in_the_documented_shape(edge: Edge) -> None:
    group = ok(edge.http.patch("/api/v1/groups/ex-groups-1", json={"name": "ops"}), "groups.update")
    assert group["uuid"] == "ex-groups-1"
    assert group["group"]["name"] == "ops"


def test_policy_update_checks_expected_update_time(edge: Edge) -> None:
    policy = edge.http.get("/api/v1/policies/ex-policies-1").json()
    stale = edge.http.patch(
        "/api/v1/policies/ex-policies-1",
        json={"policy": {"name": "x"}, "expected_update_time": policy["update_time"] - 1},
    )
    assert "refresh and retry" in message(stale, 409)
    fresh = edge.http.patch(
        "/api/v1/policies/ex-policies-1",
        json={"policy": {"name": "x"}, "expected_update_time": policy["update_time"]},
    )
    assert ok(fresh, "policies.update")["name"] == "x"


def _ids(body: dict[str, Any], field: str) -> set[str]:
    return {record["uuid"] for record in body[field]}


def test_query_filters_by_status_names_or_numbers(edge: Edge) -> None:
    everyone = ok(edge.http.get("/api/v1/users"), "users.query")["users"]
    suspended = {u["uuid"] for u in everyone if u["status"] == 3}
    assert suspended and len(suspended) < len(everyone)
    by_name = ok(edge.http.get("/api/v1/users", params={"status": "SUSPENDED"}), "users.query")
    assert _ids(by_name, "users") == suspended
    by_number = edge.http.get("/api/v1/users", params={"status": "3"}).json()
    assert _ids(by_number, "users") == suspended
    both = edge.http.get("/api/v1/users", params={"status": "ACTIVE,SUSPENDED"}).json()
    assert len(both["users"]) == len(everyone)
    message(edge.http.get("/api/v1/users", params={"status": "FROZEN"}), 400)


def test_query_filters_by_tag_and_datasource(edge: Edge) -> None:
    everyone = edge.http.get("/api/v1/users").json()["users"]
    tagged = edge.http.get("/api/v1/users", params={"tag": "finance,sales"}).json()["users"]
    assert tagged and all({"finance", "sales"} & set(u["tags"]) for u in tagged)
    assert len(tagged) < len(everyone)
    source = everyone[0]["data_source"]
    same = edge.http.get("/api/v1/users", params={"datasource": str(source)}).json()["users"]
    assert same and all(u["data_source"] == source for u in same)


def test_query_wraps_in_the_documented_field(edge: Edge) -> None:
    configs = ok(edge.http.get("/api/v1/alert_configs"), "alert_configs.query")
    assert len(configs["configs"]) == edge.tenant.records_per_area
    channels = edge.http.get(
        "/api/v1/notification_channels", params={"resolveDisplayNames": "true"}
    )
    assert ok(channels, "notification_channels.query")["channels"]


def test_tokens_query_lists_active_unless_get_all(edge: Edge) -> None:
    active = ok(edge.http.get("/api/v1/tokens"), "tokens.query")["tokens"]
    every = ok(edge.http.get("/api/v1/tokens", params={"get_all": "true"}), "tokens.query")[
        "tokens"
    ]
    assert all(t["status"] == 2 for t in active)
    assert len(every) > len(active)


def test_seeding_is_deterministic_and_has_every_example_id() -> None:
    first, second = (open_edge(*make_state()) for _ in range(2))
    with first.http, first.raw, second.http, second.raw:
        for area, store in first.tenant.stores.items():
            assert store.ids() == second.tenant.stores[area].ids()
            assert f"ex-{area}-1" in store, area
    state, clock = make_state(seed=99)
    third = open_edge(state, clock)
    with third.http, third.raw:
        assert third.tenant.store("alerts").ids() != first.tenant.store("alerts").ids()


def test_every_seeded_record_has_its_area_shape(edge: Edge) -> None:
    from jsonschema import Draft202012Validator

    for area, store in edge.tenant.stores.items():
        validator = Draft202012Validator(record_schema(area))
        for record in store:
            assert not list(validator.iter_errors(record)), (area, record)
            key = ID_FIELDS.get(area, "uuid")
            assert area == "documents" or record[key]


# --- users and devices ------------------------------------------------------------------


def test_suspend_a_user_then_read_it_back(edge: Edge) -> None:
    patched = edge.http.patch("/api/v1/users/ex-users-1", json={"user": {"status": 3}})
    assert ok(patched, "users.update")["status"] == 3
    assert ok(edge.http.get("/api/v1/users/ex-users-1"), "users.get")["status"] == 3
    suspended = edge.http.get("/api/v1/users", params={"status": "SUSPENDED"}).json()["users"]
    assert "ex-users-1" in {u["uuid"] for u in suspended}
    edge.http.patch("/api/v1/users/ex-users-1", json={"user": {"status": "ACTIVE"}})
    assert edge.http.get("/api/v1/users/ex-users-1").json()["status"] == 2


def test_create_user_answers_user_and_pii(edge: Edge) -> None:
    body = {"user": {"display_name": "Zed"}, "user_pii": {"email": "zed@acme.example"}}
    created = ok(edge.http.post("/api/v1/users", json=body), "users.create")
    assert created["user"]["display_name"] == "Zed"
    assert created["user_pii"]["uuid"] == created["user"]["uuid"]
    assert ok(edge.http.get(f"/api/v1/users/{created['user']['uuid']}"), "users.get")["status"] == 2


def test_user_devices_then_delete_one(edge: Edge) -> None:
    listed = ok(edge.http.get("/api/v1/users/ex-users-1/devices"), "users.devices")
    assert listed["continuation_token"] == ""
    ids = [d["uuid"] for d in listed["devices"]]
    assert "ex-devices-1" in ids and len(ids) == 2
    gone = edge.http.request(
        "DELETE",
        "/api/v1/devices",
        json={"devices": [{"user_uuid": "ex-users-1", "uuid": "ex-devices-1"}]},
    )
    assert ok(gone, "devices.delete")["uuid"] == "ex-devices-1"
    left = edge.http.get("/api/v1/users/ex-users-1/devices").json()["devices"]
    assert [d["uuid"] for d in left] == [i for i in ids if i != "ex-devices-1"]
    message(edge.http.post("/api/v1/devices/ex-devices-1/lookup", json={}), 404)


def test_delete_devices_is_all_or_nothing(edge: Edge) -> None:
    other = edge.http.get("/api/v1/users/ex-users-1/devices").json()["devices"][1]["uuid"]
    pairs = [
        {"user_uuid": "ex-users-1", "uuid": other},
        {"user_uuid": "someone-else", "uuid": "ex-devices-1"},
    ]
    message(edge.http.request("DELETE", "/api/v1/devices", json={"devices": pairs}), 404)
    assert len(edge.http.get("/api/v1/users/ex-users-1/devices").json()["devices"]) == 2
    message(edge.http.get("/api/v1/users/nobody/devices"), 404)


def test_device_lookup(edge: Edge) -> None:
    found = edge.http.post(
        "/api/v1/devices/ex-devices-1/lookup",
        json={"user_uuid": "ex-users-1", "uuid": "ex-devices-1"},
    )
    assert ok(found, "devices.get")["user_uuid"] == "ex-users-1"
    message(edge.http.post("/api/v1/devices/ex-devices-1/lookup", json={"user_uuid": "other"}), 404)
    message(edge.http.post("/api/v1/devices/ex-devices-1/lookup", json={"uuid": "other"}), 400)


def test_register_device(edge: Edge) -> None:
    body = {
        "device_uuid": "dev-new",
        "device": {"display_name": "new laptop", "user_uuid": "ex-users-1"},
    }
    device = ok(edge.http.post("/api/v1/devices", json=body), "devices.register")
    assert device["uuid"] == "dev-new"
    listed = edge.http.get("/api/v1/users/ex-users-1/devices").json()["devices"]
    assert "dev-new" in {d["uuid"] for d in listed}


# --- documents ------------------------------------------------------------------------


def _doc(edge: Edge) -> dict[str, Any]:
    body: dict[str, Any] = ok(
        edge.http.get("/api/v1/documents/ex-documents-1"), "documents.get_metadata"
    )
    return body


def test_document_metadata_lists_external_and_internal_access(edge: Edge) -> None:
    doc = _doc(edge)
    external = [a["target_identity"]["external"] for a in doc["external_access"]]
    assert sorted(external) == [False, True]
    assert doc["is_shared"] and doc["is_shared_externally"]
    assert doc["drive_id"] and doc["owner"]["id"] == "ex-users-1"


def test_revoke_one_access(edge: Edge) -> None:
    doc = _doc(edge)
    ext = next(a for a in doc["external_access"] if a["target_identity"]["external"])
    body = {
        "access_id": ext["access_id"],
        "drive_id": doc["drive_id"],
        "normalized_document_uuid": "ex-documents-1",
    }
    revoked = edge.http.post("/api/v1/documents/ex-documents-1/revoke_access", json=body)
    assert ok(revoked, "documents.revoke_access") == {}
    after = _doc(edge)
    assert ext["access_id"] not in {a["access_id"] for a in after["external_access"]}
    assert after["is_shared"] and not after["is_shared_externally"]
    message(edge.http.post("/api/v1/documents/ex-documents-1/revoke_access", json=body), 404)


def test_revoke_access_checks_the_document(edge: Edge) -> None:
    wrong = {"access_id": "perm-ext-1", "normalized_document_uuid": "another"}
    assert message(
        edge.http.post("/api/v1/documents/ex-documents-1/revoke_access", json=wrong), 400
    ).startswith("normalized_document_uuid:")
    message(
        edge.http.post(
            "/api/v1/documents/ex-documents-1/revoke_access",
            json={"access_id": "x", "drive_id": "d"},
        ),
        400,
    )
    message(edge.http.post("/api/v1/documents/nope/revoke_access", json={"access_id": "x"}), 404)
    assert len(_doc(edge)["external_access"]) == 2


def test_revoke_external_sharing_keeps_internal_shares(edge: Edge) -> None:
    revoked = edge.http.post(
        "/api/v1/documents/ex-documents-1/revoke_sharing", json={"external_only": True}
    )
    assert ok(revoked, "documents.revoke_sharing") == {}
    doc = _doc(edge)
    assert [a["target_identity"]["external"] for a in doc["external_access"]] == [False]
    assert doc["is_shared"] and not doc["is_shared_externally"]


def test_revoke_all_sharing(edge: Edge) -> None:
    edge.http.post("/api/v1/documents/ex-documents-1/revoke_sharing", json={"external_only": False})
    doc = _doc(edge)
    assert doc["external_access"] == []
    assert not doc["is_shared"] and not doc["is_shared_externally"]


# --- tokens ---------------------------------------------------------------------------


def test_temporary_access_token(edge: Edge) -> None:
    body = {"user_uuid": "ex-users-1", "ttl_sec": 900}
    token = ok(
        edge.http.post("/api/v1/tokens/temporary_access", json=body),
        "tokens.create_temporary_access",
    )
    assert token["secret"] and token["expire_time_sec"] == int(START) + 900
    assert token["view_pii_log_only"] is True
    assert edge.tenant.token_users[token["uuid"]] == "ex-users-1"
    listed = edge.http.get("/api/v1/tokens").json()["tokens"]
    assert token["uuid"] in {t["uuid"] for t in listed}


def test_temporary_access_token_refusals(edge: Edge) -> None:
    for ttl in (0, -5):
        response = edge.http.post(
            "/api/v1/tokens/temporary_access", json={"user_uuid": "ex-users-1", "ttl_sec": ttl}
        )
        assert message(response, 400).startswith("ttl_sec:")
    unknown = edge.http.post(
        "/api/v1/tokens/temporary_access", json={"user_uuid": "nobody", "ttl_sec": 600}
    )
    assert message(unknown, 400).startswith("user_uuid:")


def test_tokens_create_and_update(edge: Edge) -> None:
    created = ok(
        edge.http.post("/api/v1/tokens", json={"name": "ci", "status": 2}), "tokens.create"
    )
    assert created["secret"] and created["name"] == "ci"
    suspended = edge.http.patch(f"/api/v1/tokens/{created['uuid']}", json={"status": "SUSPENDED"})
    assert ok(suspended, "tokens.update")["status"] == 3
    assert created["uuid"] not in {
        t["uuid"] for t in edge.http.get("/api/v1/tokens").json()["tokens"]
    }


# --- operations with shapes of their own ------------------------------------------------


def test_accesses_query_links_apps_and_users(edge: Edge) -> None:
    access = edge.tenant.store("accesses").require("ex-accesses-1")
    app_id, user_id = access["app_list"][0], access["user_list"][0]
    found = ok(
        edge.http.get("/api/v1/accesses", params={"appid": app_id, "userid": user_id}),
        "accesses.query",
    )
    assert "ex-accesses-1" in {a["uuid"] for a in found["accesses"]}
    assert [a["uuid"] for a in found["apps"]] == [app_id]
    assert [u["uuid"] for u in found["users"]] == [user_id]


def test_blobs_by_key_and_prefix(edge: Edge) -> None:
    created = ok(
        edge.http.post("/api/v1/blobs", json={"key": "cfg-a", "data": "1"}), "blobs.create"
    )
    assert created["key"] == "cfg-a"
    ok(edge.http.post("/api/v1/blobs", json={"key": "cfg-b", "data": "2"}), "blobs.create")
    listed = ok(edge.http.get("/api/v1/blobs", params={"prefix": "cfg-"}), "blobs.query")["blobs"]
    assert [b["key"] for b in listed] == ["cfg-a", "cfg-b"]
    assert ok(edge.http.get("/api/v1/blobs/cfg-b"), "blobs.get")["data"] == "2"


def test_connectors_are_keyed_by_name(edge: Edge) -> None:
    created = ok(
        edge.http.post("/api/v1/connectors", json={"name": "edge-eu"}), "connectors.create"
    )
    assert created["unique_name"] == "edge-eu" and created["status"] == 2
    assert (
        ok(edge.http.get("/api/v1/connectors/edge-eu"), "connectors.get")["uuid"] == created["uuid"]
    )
    assert "already exists" in message(
        edge.http.post("/api/v1/connectors", json={"name": "edge-eu"}), 400
    )


def test_operations_without_a_documented_body_answer_empty(edge: Edge) -> None:
    view = edge.http.get(
        "/api/v1/query_views/sessions", params={"start_time": "1", "end_time": "2"}
    )
    assert ok(view, "query_views.query") == {}
    message(
        edge.http.get("/api/v1/query_views/sessions", params={"start_time": "2", "end_time": "1"}),
        400,
    )
    validate = edge.http.post(
        "/api/v1/data_export_configs/validate", json={"uuid": "ex-data_export_configs-1"}
    )
    assert ok(validate, "data_export_configs.validate") == {}
    message(edge.http.post("/api/v1/data_export_configs/validate", json={"uuid": "nope"}), 404)
