"""The records a simulated Lacework Edge tenant starts with, generated from its seed.

Every area holds `records_per_area` records (alerts three times as many), and the first
of each always has the id the generated examples of operations.json use, `ex-<area>-1`
(a name for connectors and accounts, a key for blobs), so every example answers 2xx.
The links a response action follows are real: `ex-users-1` owns devices `ex-devices-1`
and one more, `ex-documents-1` is shared with one external and one internal identity,
`ex-workflow_runs-1` is a PENDING run of `ex-workflows-1` for `ex-users-1`.

Timestamps are measured back from the tenant's clock when the data is generated.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from soarpack.sandbox.lacework_edge.records import make_record, record_schema, uses_enum_status
from soarpack.sandbox.lacework_edge.spec import enum_codes, load_operations, singular
from soarpack.sandbox.lacework_edge.store import LaceworkEdgeTenant, Record, Store

__all__ = ["ID_FIELDS", "example_id", "seed_tenant", "sharing_flags"]

ID_FIELDS = {"accounts": "name", "connectors": "name", "blobs": "key"}
# Areas without records of their own: logins, query views and deployment plans.
_NO_STORE = frozenset({"auth", "query_views", "deployments"})
HOUR_MS = 3_600_000
_PEOPLE = (
    ("Alice Example", "alice"),
    ("Bob Builder", "bob"),
    ("Carol Danvers", "carol"),
    ("Dan Okafor", "dan"),
    ("Erin Walsh", "erin"),
    ("Farid Haddad", "farid"),
)
_EVENT_TYPES = (
    "DLP_VIOLATION",
    "IMPOSSIBLE_TRAVEL",
    "MALWARE_DOWNLOAD",
    "SUSPICIOUS_LOGIN",
    "EXTERNAL_SHARE",
    "DATA_EXFILTRATION",
)
_TAGS = ("engineering", "finance", "sales", "contractors", "admins")
_DATA_SOURCES = (1, 2, 3, 101)


def example_id(area: str, n: int = 1) -> str:
    return f"ex-{area}-{n}"


def _areas() -> list[str]:
    areas: list[str] = []
    for op in load_operations().values():
        if op.area not in _NO_STORE and op.area not in areas:
            areas.append(op.area)
    return areas


def _generic(area: str, i: int, rng: random.Random) -> Record:
    props = record_schema(area).get("properties", {})
    label = singular(area).replace("_", " ")
    fields: Record = {}
    for key, value in (
        ("name", f"{label} {i + 1}"),
        ("display_name", f"{label.title()} {i + 1}"),
        ("description", f"Seeded {label} number {i + 1}"),
        ("title", f"{label.title()} {i + 1}"),
        ("tags", [_TAGS[(i + j) % len(_TAGS)] for j in range(i % 3)]),
        ("data_source", _DATA_SOURCES[i % len(_DATA_SOURCES)]),
    ):
        if key in props:
            fields[key] = value
    if i == 3 and uses_enum_status(area):
        fields["status"] = "SUSPENDED"
    return fields


def seed_tenant(tenant: LaceworkEdgeTenant, rng: random.Random) -> None:
    """Fill `tenant`'s stores (see the module docstring). Deterministic for a seed."""
    for area in _areas():
        tenant.stores[area] = Store(area, ID_FIELDS.get(area, "uuid"))
    now = tenant.now_ms()
    tenant.api_user_uuid = tenant.new_uuid()
    user_ids = _seed_users(tenant, rng, now)
    for area in _areas():
        if area not in _OWN_SEEDER:
            for i in range(tenant.records_per_area):
                _put(tenant, area, i, _generic(area, i, rng), now - (i + 1) * HOUR_MS)
    for seeder in _SEEDERS:
        seeder(tenant, rng, now, user_ids)


def _put(tenant: LaceworkEdgeTenant, area: str, i: int, fields: Record, at: int) -> Record:
    store = tenant.store(area)
    key = example_id(area, 1) if i == 0 else None
    if key is not None:
        fields[store.id_field] = key
    elif store.id_field != "uuid":
        fields.setdefault(store.id_field, f"{singular(area).replace('_', '-')}-{i + 1}")
    record = make_record(
        tenant, area, fields, user_uuid=tenant.api_user_uuid, account=tenant.account_name
    )
    for stamp in ("create_time", "update_time"):
        if stamp in record:
            record[stamp] = at
    return store.put(record, None if store.id_field in record else str(fields[store.id_field]))


def _seed_users(tenant: LaceworkEdgeTenant, rng: random.Random, now: int) -> list[str]:
    ids: list[str] = []
    count = max(tenant.records_per_area, 3)
    for i in range(count):
        name, login = _PEOPLE[i % len(_PEOPLE)]
        fields: Record = {
            "uuid": example_id("users") if i == 0 else tenant.new_uuid(),
            "display_name": name,
            "location": rng.choice(("London, GB", "Austin, US", "Berlin, DE", "Pune, IN")),
            "tags": [_TAGS[i % len(_TAGS)]],
            "data_source": _DATA_SOURCES[i % len(_DATA_SOURCES)],
            "role": 1,
            "source_user_id": f"{login}@{tenant.account_name}.example",
            "status": "SUSPENDED" if i == 3 else "ACTIVE",
        }
        record = _put(tenant, "users", 1 if i else 0, fields, now - (i + 1) * 24 * HOUR_MS)
        record["record_update_time"] = record["update_time"]
        tenant.user_pii[record["uuid"]] = {
            "uuid": record["uuid"],
            "account_name": tenant.account_name,
            "email": f"{login}@{tenant.account_name}.example",
            "login": login,
            "phone": "",
        }
        ids.append(record["uuid"])
    api = make_record(
        tenant,
        "users",
        {"uuid": tenant.api_user_uuid, "display_name": "SOAR automation", "role": 2},
        user_uuid=tenant.api_user_uuid,
        account=tenant.account_name,
    )
    tenant.store("users").put(api)
    return ids


def _seed_alerts(
    tenant: LaceworkEdgeTenant, rng: random.Random, now: int, users: list[str]
) -> None:
    status = enum_codes("alert_status")
    for i in range(tenant.records_per_area * 3):
        owner = users[i % len(users)] if i % 2 else ""
        closed = i % 5 == 4
        created = now - HOUR_MS if i == 0 else now - rng.randrange(HOUR_MS, 7 * 24 * HOUR_MS)
        fields: Record = {
            "uuid": example_id("alerts") if i == 0 else tenant.new_uuid(),
            "status": status["CLOSED"]
            if closed
            else (status["ACKNOWLEDGED"] if i % 4 == 3 else status["OPEN"]),
            "severity": rng.randint(1, 5),
            "event_type": _EVENT_TYPES[i % len(_EVENT_TYPES)],
            "description": f"{_EVENT_TYPES[i % len(_EVENT_TYPES)].replace('_', ' ').lower()} by user {i + 1}",
            "owner_uuid": owner,
            "owner_display_name": tenant.user_name(owner),
            "related_entities": {"users_count": 1, "devices_count": i % 3},
            "incident_status": enum_codes("incident_status")["FALSE_POSITIVE"] if closed else 0,
        }
        record = _put(tenant, "alerts", i, fields, created)
        record["closed_time"] = created + HOUR_MS if closed else 0
        record["assignment_time"] = created if owner else 0
        tenant.history[record["uuid"]] = []


def _seed_devices(
    tenant: LaceworkEdgeTenant, rng: random.Random, now: int, users: list[str]
) -> None:
    owners = [users[0], users[0], *users[1:]][: max(tenant.records_per_area, 2)]
    for i, owner in enumerate(owners):
        os_name = ("macOS", "Windows", "iOS", "Linux")[i % 4]
        fields: Record = {
            "user_uuid": owner,
            "user_display_name": tenant.user_name(owner),
            "display_name": f"{tenant.user_name(owner).split()[0]}'s {os_name} device",
            "os": os_name,
            "os_version": f"{rng.randint(10, 15)}.{rng.randint(0, 9)}",
            "eg_version": "1.0.0",
            "serial_number": f"SN{rng.randrange(10**8):08d}",
            "is_managed": i % 2 == 0,
        }
        _put(tenant, "devices", i, fields, now - (i + 1) * HOUR_MS)


def _identity(ident: str, display: str, external: bool) -> Record:
    return {"id": ident, "display": display, "external": external, "type": 1}


def _seed_documents(
    tenant: LaceworkEdgeTenant, rng: random.Random, now: int, users: list[str]
) -> None:
    domain = f"{tenant.account_name}.example"
    store = tenant.store("documents")
    for i in range(tenant.records_per_area):
        key = example_id("documents") if i == 0 else tenant.new_uuid()
        owner = users[i % len(users)]
        accesses = [
            {
                "access_id": f"perm-ext-{i + 1}",
                "target_identity": _identity(
                    f"partner{i + 1}@partner.example", f"Partner {i + 1}", True
                ),
                "target_domain": "partner.example",
                "origin_type": 1,
            },
            {
                "access_id": f"perm-int-{i + 1}",
                "target_identity": _identity(
                    users[(i + 1) % len(users)],
                    tenant.user_name(users[(i + 1) % len(users)]),
                    False,
                ),
                "target_domain": domain,
                "origin_type": 1,
            },
        ][: 2 if i % 3 != 2 else 0]
        fields: Record = {
            "drive_id": f"drive-{i + 1}",
            "datasource": "GOOGLE_DRIVE",
            "file_extension": ("xlsx", "docx", "pdf")[i % 3],
            "file_size": rng.randrange(10_000, 5_000_000),
            "created_time": now - (i + 2) * 24 * HOUR_MS,
            "updated_time": now - (i + 1) * HOUR_MS,
            "owner": _identity(owner, tenant.user_name(owner), False),
            "identity": {"id": key, "display": f"Quarterly report {i + 1}", "owner_id": owner},
            "external_access": accesses,
            "is_sensitive": i == 0,
        }
        record = make_record(
            tenant, "documents", fields, user_uuid=owner, account=tenant.account_name
        )
        store.put(record, key)
        sharing_flags(record)


def sharing_flags(document: Record) -> None:
    """Set is_shared / is_shared_externally from the document's access entries."""
    accesses = document.get("external_access") or []
    document["is_shared"] = bool(accesses)
    document["is_shared_externally"] = any(
        (a.get("target_identity") or {}).get("external") for a in accesses
    )


def _seed_workflows(
    tenant: LaceworkEdgeTenant, rng: random.Random, now: int, users: list[str]
) -> None:
    from soarpack.sandbox.lacework_edge.workflows import execute_run, workflow_defaults

    for i in range(tenant.records_per_area):
        fields = workflow_defaults(_generic("workflows", i, rng))
        fields["recipients"] = ["role:admin"]
        _put(tenant, "workflows", i, fields, now - (i + 1) * 24 * HOUR_MS)
    workflow = tenant.store("workflows").require(example_id("workflows"))
    for i in range(tenant.records_per_area):
        fields = {
            key: workflow[key]
            for key in (
                "answers",
                "actions",
                "approval_ttl_sec",
                "recipients",
                "justification_required",
            )
        }
        fields.update(
            workflow_uuid=workflow["uuid"],
            workflow_name=workflow["name"],
            user_uuid=users[i % len(users)],
            user_display_name=tenant.user_name(users[i % len(users)]),
            details={"reason": f"access request {i + 1}"},
            execution_ttl_sec=600,
        )
        run = _put(tenant, "workflow_runs", i, fields, tenant.now_ms())
        tenant.run_meta[run["uuid"]] = {"default_answer_index": "0", "execute_at": None}
        execute_run(tenant, run, tenant.now())


def _seed_tokens(
    tenant: LaceworkEdgeTenant, rng: random.Random, now: int, users: list[str]
) -> None:
    for i in range(tenant.records_per_area):
        fields = _generic("tokens", i, rng)
        fields.update(secret=tenant.new_secret(), algo="HS256", user_uuid=tenant.api_user_uuid)
        _put(tenant, "tokens", i, fields, now - (i + 1) * 24 * HOUR_MS)


def _seed_accounts(
    tenant: LaceworkEdgeTenant, rng: random.Random, now: int, users: list[str]
) -> None:
    store = tenant.store("accounts")
    for name in (tenant.account_name, example_id("accounts"), example_id("auth")):
        fields: Record = {
            "name": name,
            "display_name": name.title(),
            "domain": f"{name}.example",
            "allowed_email_domains": [f"{name}.example"],
            "session_ttl_sec": tenant.jwt_ttl,
            "status": 2,  # ACTIVE
        }
        record = make_record(
            tenant, "accounts", fields, user_uuid=tenant.api_user_uuid, account=name
        )
        record["uuid"] = record["uuid"] or tenant.new_uuid()
        store.put(record)


def _seed_links(tenant: LaceworkEdgeTenant, rng: random.Random, now: int, users: list[str]) -> None:
    apps = tenant.store("apps").ids()
    for i, access in enumerate(tenant.store("accesses")):
        access["app_list"] = [apps[i % len(apps)]] if apps else []
        access["user_list"] = [users[i % len(users)]]
    for i, group in enumerate(tenant.store("groups")):
        group["user_count"] = 1 + i
    for i, blob in enumerate(tenant.store("blobs")):
        blob["data"] = f"blob data {i + 1}"
        blob["user_uuid"] = tenant.api_user_uuid


Seeder = Callable[[LaceworkEdgeTenant, random.Random, int, list[str]], None]
# Run in this order after the generic records; users come first of all.
_SEEDERS: tuple[Seeder, ...] = (
    _seed_accounts,
    _seed_alerts,
    _seed_devices,
    _seed_documents,
    _seed_tokens,
    _seed_workflows,
    _seed_links,
)
_OWN_SEEDER = frozenset(
    {"users", "accounts", "alerts", "devices", "documents", "tokens", "workflows", "workflow_runs"}
)
