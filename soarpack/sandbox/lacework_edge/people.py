"""Users, their devices, shared documents and access tokens.

    PATCH  /api/v1/users/{uuid} {"user": {"status": 3}}   suspends (EnumStatus names work too)
    GET    /api/v1/users/{uuid}/devices                   {"devices": [...], "continuation_token": ""}
    DELETE /api/v1/devices {"devices": [{"user_uuid", "uuid"}]}
           all or nothing: a pair that is not a device of that user is a 404 and nothing
           is deleted; answers the first deleted device ({} for an empty list)
    POST   /api/v1/devices/{uuid}/lookup {user_uuid, uuid}   one device (404 if not that user's)
    GET    /api/v1/documents/{uuid}                       metadata, with `external_access`
    POST   /api/v1/documents/{uuid}/revoke_access {access_id, ...}
           removes that entry (404 if it is not on the document; no access_id: nothing
           to revoke); 400 if normalized_document_uuid (or drive_id) disagrees
    POST   /api/v1/documents/{uuid}/revoke_sharing {external_only, ...}
           removes every entry, or only those whose target_identity is external
    POST   /api/v1/tokens/temporary_access {user_uuid, ttl_sec}
           a one-use token with a `secret`, expiring ttl_sec (default 3600) from now;
           400 for ttl_sec <= 0 or an unknown user. The secret logs in once as that user
           (token_login, `auth.py`); tokens.create with ttl_sec > 0 alike

Both revokes answer 200 {} (the document gives no success body) and keep is_shared and
is_shared_externally in step with what is left.
"""

from __future__ import annotations

from soarpack.sandbox.lacework_edge.data import sharing_flags
from soarpack.sandbox.lacework_edge.records import new_record, update_record
from soarpack.sandbox.lacework_edge.store import Call, EdgeError, Record

__all__ = ["PEOPLE_HANDLERS"]

TEMPORARY_TOKEN_TTL = 3600


def _user_create(call: Call) -> Record:
    tenant = call.tenant
    user = new_record(call, "users", dict(call.body.get("user") or {}))
    user["record_update_time"] = user["update_time"]
    tenant.store("users").put(user)
    pii = {**(call.body.get("user_pii") or {}), "uuid": user["uuid"], "account_name": call.account}
    tenant.user_pii[user["uuid"]] = pii
    return {"user": user, "user_pii": pii}


def _user_update(call: Call) -> Record:
    record = call.tenant.store("users").require(call.param())
    update_record(call.tenant, "users", record, call)
    record["record_update_time"] = record["update_time"]
    return record


def _user_devices(call: Call) -> Record:
    user_uuid = call.param()
    call.tenant.store("users").require(user_uuid)
    devices = [d for d in call.tenant.store("devices") if d.get("user_uuid") == user_uuid]
    return {"devices": devices, "continuation_token": ""}


def _device_of(call: Call, device_uuid: str, user_uuid: str) -> Record:
    device = call.tenant.store("devices").get(device_uuid)
    if device is None or (user_uuid and device.get("user_uuid") != user_uuid):
        owner = f" of user {user_uuid!r}" if user_uuid else ""
        raise EdgeError(404, f"device {device_uuid!r}{owner} not found")
    return device


def _device_lookup(call: Call) -> Record:
    device_uuid = call.param()
    if call.body.get("uuid") and call.body["uuid"] != device_uuid:
        raise EdgeError(400, f"uuid: {call.body['uuid']!r} does not match the path ({device_uuid})")
    return _device_of(call, device_uuid, str(call.body.get("user_uuid") or ""))


def _devices_delete(call: Call) -> Record:
    pairs = call.body.get("devices") or []
    for pair in pairs:
        if not pair.get("uuid") or not pair.get("user_uuid"):
            raise EdgeError(400, "devices: each entry needs user_uuid and uuid")
        _device_of(call, pair["uuid"], pair["user_uuid"])
    deleted = [call.tenant.store("devices").delete(pair["uuid"]) for pair in pairs]
    return deleted[0] if deleted else {}


def _device_register(call: Call) -> Record:
    fields = dict(call.body.get("device") or {})
    if call.body.get("device_uuid"):
        fields["uuid"] = call.body["device_uuid"]
    fields.setdefault("user_uuid", call.user_uuid)
    fields["user_display_name"] = call.tenant.user_name(str(fields["user_uuid"]))
    device = new_record(call, "devices", fields)
    call.tenant.store("devices").put(device)
    return device


def _document(call: Call) -> Record:
    doc_uuid = call.param()
    given = call.body.get("normalized_document_uuid")
    if given and given != doc_uuid:
        raise EdgeError(
            400, f"normalized_document_uuid: {given!r} does not match the path ({doc_uuid})"
        )
    document = call.tenant.store("documents").require(doc_uuid)
    drive = call.body.get("drive_id")
    if drive and drive != document.get("drive_id"):
        raise EdgeError(400, f"drive_id: {drive!r} is not the drive of document {doc_uuid}")
    return document


def _revoke_access(call: Call) -> Record:
    document = _document(call)
    access_id = call.body.get("access_id")
    if not access_id:
        return {}
    accesses = document.get("external_access") or []
    kept = [a for a in accesses if a.get("access_id") != access_id]
    if len(kept) == len(accesses):
        raise EdgeError(404, f"access {access_id!r} not found on document {call.param()}")
    document["external_access"] = kept
    _touched(call, document)
    return {}


def _revoke_sharing(call: Call) -> Record:
    document = _document(call)
    if call.body.get("external_only"):
        document["external_access"] = [
            a
            for a in document.get("external_access") or []
            if not (a.get("target_identity") or {}).get("external")
        ]
    else:
        document["external_access"] = []
    _touched(call, document)
    return {}


def _touched(call: Call, document: Record) -> None:
    sharing_flags(document)
    document["updated_time"] = call.tenant.tick()


def _temporary_access(call: Call) -> Record:
    tenant = call.tenant
    ttl = call.body.get("ttl_sec")
    ttl = TEMPORARY_TOKEN_TTL if ttl is None else ttl
    if ttl <= 0:
        raise EdgeError(400, f"ttl_sec: must be positive, got {ttl}")
    user_uuid = str(call.body.get("user_uuid") or call.user_uuid)
    if tenant.store("users").get(user_uuid) is None:
        raise EdgeError(400, f"user_uuid: no user {user_uuid!r} in this account")
    return _new_token(call, user_uuid, ttl, temporary=True)


def _new_token(call: Call, user_uuid: str, ttl: int, *, temporary: bool) -> Record:
    tenant = call.tenant
    fields: Record = {
        "name": call.body.get("name") or ("temporary access" if temporary else "api token"),
        "description": call.body.get("description") or "",
        "status": call.body.get("status") or "ACTIVE",
        "secret": tenant.new_secret(),
        "algo": "HS256",
        "view_pii_log_only": temporary,
        "expire_time_sec": int(tenant.now()) + ttl if ttl > 0 else 0,
    }
    if "role" in call.body:
        fields["creator_role"] = call.body["role"]
    token = new_record(call, "tokens", fields)
    tenant.token_users[token["uuid"]] = user_uuid
    tenant.store("tokens").put(token)
    return token


def _token_create(call: Call) -> Record:
    user_uuid = str(call.body.get("user_uuid") or call.user_uuid)
    if call.tenant.store("users").get(user_uuid) is None:
        raise EdgeError(400, f"user_uuid: no user {user_uuid!r} in this account")
    ttl = int(call.body.get("ttl_sec") or 0)  # > 0: a temporary token, good for one login
    return _new_token(call, user_uuid, max(ttl, 0), temporary=False)


PEOPLE_HANDLERS = {
    "users.create": _user_create,
    "users.update": _user_update,
    "users.devices": _user_devices,
    "devices.get": _device_lookup,
    "devices.delete": _devices_delete,
    "devices.register": _device_register,
    "documents.revoke_access": _revoke_access,
    "documents.revoke_sharing": _revoke_sharing,
    "tokens.create": _token_create,
    "tokens.create_temporary_access": _temporary_access,
}
