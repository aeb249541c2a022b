"""The operations with shapes of their own: lookups by name or key, views, deployments.

accesses.query       accesses whose app_list holds appid and user_list holds userid,
                     with that app and that user beside them
policies.query       every policy (appid / userid / resolveDisplayNames are accepted)
audit_events.query   created in [start_time, end_time] (ms; end_time optional)
blobs.query          blobs whose key starts with prefix; blobs.create replaces a key
accounts.update_onboarding   merges into the caller's account's `onboarding`
apps.deploy          creates (or, for a known uuid, updates) the app; no new policies
connectors.create    keyed by name (default connector-<n>); 400 if the name is taken
query_views.query, data_export_configs.bucket_policy / validate
                     no success body is documented: 200 {} (unknown uuid: 404)
deployments.create / options, datasets.create, integrations.validate
                     an answer in the documented shape
"""

from __future__ import annotations

from dataclasses import replace

from soarpack.sandbox.lacework_edge.records import (
    generic_create,
    new_record,
    update_record,
)
from soarpack.sandbox.lacework_edge.spec import skeleton
from soarpack.sandbox.lacework_edge.store import Call, EdgeError, Record

__all__ = ["MISC_HANDLERS"]


def _accesses(call: Call) -> Record:
    tenant = call.tenant
    app_id, user_id = str(call.query.get("appid", "")), str(call.query.get("userid", ""))
    accesses = [
        access
        for access in tenant.store("accesses")
        if app_id in (access.get("app_list") or []) and user_id in (access.get("user_list") or [])
    ]
    app, user = tenant.store("apps").get(app_id), tenant.store("users").get(user_id)
    return {
        "accesses": accesses,
        "apps": [app] if app else [],
        "groups": [],
        "users": [user] if user else [],
    }


def _policies(call: Call) -> Record:
    return {"policies": list(call.tenant.store("policies"))}


def _millis(call: Call, field: str) -> int | None:
    raw = str(call.query.get(field) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise EdgeError(400, f"{field}: must be epoch milliseconds, got {raw!r}")
    return int(raw)


def _audit_events(call: Call) -> Record:
    start, end = _millis(call, "start_time"), _millis(call, "end_time")
    events = [
        event
        for event in call.tenant.store("audit_events")
        if (start is None or event.get("create_time", 0) >= start)
        and (end is None or event.get("create_time", 0) <= end)
    ]
    return {"audit_events": events}


def _query_view(call: Call) -> Record:
    start, end = _millis(call, "start_time"), _millis(call, "end_time")
    if start is not None and end is not None and start > end:
        raise EdgeError(400, "start_time: must not be after end_time")
    return {}


def _blobs(call: Call) -> Record:
    prefix = str(call.query.get("prefix") or "")
    return {"blobs": [b for b in call.tenant.store("blobs") if str(b["key"]).startswith(prefix)]}


def _blob_create(call: Call) -> Record:
    store = call.tenant.store("blobs")
    fields = {k: v for k, v in call.body.items() if k != "account_name"}
    fields["key"] = str(fields.get("key") or call.tenant.new_uuid())
    fields["user_uuid"] = call.user_uuid
    return store.put(new_record(call, "blobs", fields))


def _onboarding(call: Call) -> Record:
    account = call.tenant.store("accounts").require(call.account)
    onboarding = account.setdefault("onboarding", {})
    onboarding.update(call.body.get("onboarding") or {})
    account["update_time"] = call.tenant.tick()
    result: Record = onboarding
    return result


def _deploy(call: Call) -> Record:
    app = dict(call.body.get("app") or {})
    store = call.tenant.store("apps")
    known = store.get(str(app.get("uuid") or ""))
    if known is not None:
        record = update_record(call.tenant, "apps", known, replace(call, body={"app": app}))
    else:
        record = store.put(new_record(call, "apps", app))
    return {"app": record, "new_policies": []}


def _connector_create(call: Call) -> Record:
    store = call.tenant.store("connectors")
    inner = call.body.get("connector") or {}
    name = str(call.body.get("name") or inner.get("name") or f"connector-{len(store) + 1}")
    body = {**call.body, "name": name}
    body.setdefault("unique_name", inner.get("unique_name") or name)
    record = generic_create(replace(call, body=body))
    stored = store.require(name)
    stored["access_token"] = call.tenant.new_secret()
    return record


def _empty(call: Call) -> Record:
    return {}


def _validate_export(call: Call) -> Record:
    if call.body.get("uuid"):
        call.tenant.store("data_export_configs").require(str(call.body["uuid"]))
    return {}


def _validate_integration(call: Call) -> Record:
    if call.body.get("uuid"):
        call.tenant.store("integrations").require(str(call.body["uuid"]))
    return {"status": "SUCCESS", "error_message": ""}


def _dataset(call: Call) -> Record:
    store = call.tenant.store("datasets")
    record = new_record(call, "datasets", {"dataset_name": f"dataset-{len(store) + 1}"})
    return store.put(record)


def _deployment(call: Call) -> Record:
    connector = next(iter(call.tenant.store("connectors")), {})
    return {
        "success": True,
        "completed": False,
        "messages": ["deployment started"],
        "connector": connector,
        "apps": [],
        "accesses": [],
        "policies": [],
        "resource_urls": [],
    }


def _deployment_options(call: Call) -> Record:
    item = call.op.output_properties()["options"].get("items", {})
    return {"options": [skeleton(item)] if isinstance(item, dict) else []}


MISC_HANDLERS = {
    "accesses.query": _accesses,
    "policies.query": _policies,
    "audit_events.query": _audit_events,
    "query_views.query": _query_view,
    "blobs.query": _blobs,
    "blobs.create": _blob_create,
    "accounts.update_onboarding": _onboarding,
    "apps.deploy": _deploy,
    "connectors.create": _connector_create,
    "data_export_configs.bucket_policy": _empty,
    "data_export_configs.validate": _validate_export,
    "integrations.validate": _validate_integration,
    "datasets.create": _dataset,
    "deployments.create": _deployment,
    "deployments.options": _deployment_options,
}
