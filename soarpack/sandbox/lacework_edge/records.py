"""Generic record handling: the query, get, create and update every area shares.

    query   -> {"<list field>": [records...]}  filtered by the documented query params:
               status (comma separated EnumStatus names or numbers), tag / datasource
               (comma separated), data_source, get_all (tokens: all, not only ACTIVE)
    get     -> the record, or 404
    create  -> a new record (fresh uuid, account_name, create/update_time, status ACTIVE
               unless given), answered with the operation's first documented 2xx
    update  -> only the given fields merged in (a body that wraps the record, such as
               {"user": {...}}, updates the inner record); `attributes_to_delete` resets
               fields to their zero value (status: ACTIVE); update_time moves on; ids,
               account and creation stamps are the tenant's and stay; a policy update
               with a stale `expected_update_time` is a 409

Record shapes come from the area's output schemas (`record_schema`), so every record
carries every documented field, at its zero value when nothing better is known.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from soarpack.sandbox.lacework_edge.spec import (
    Operation,
    Schema,
    enum_codes,
    load_operations,
    singular,
    skeleton,
)
from soarpack.sandbox.lacework_edge.store import Call, EdgeError, LaceworkEdgeTenant, Record

__all__ = [
    "ACTIVE",
    "answer_record",
    "enum_status_filter",
    "generic_create",
    "generic_get",
    "generic_query",
    "generic_update",
    "list_field",
    "make_record",
    "new_record",
    "record_schema",
    "status_code",
    "update_record",
    "uses_enum_status",
]

ACTIVE = 2
# Fields only the tenant sets: an update neither changes nor deletes them.
_SERVER_FIELDS = frozenset(
    {"uuid", "account_name", "create_time", "update_time", "creator_uuid", "creator_display_name"}
)
# Body fields that steer an update rather than being part of the record.
_CONTROL_FIELDS = frozenset(
    {"account_name", "attributes_to_delete", "uuid", "record_update_time", "expected_update_time"}
)


@cache
def record_schema(area: str) -> Schema:
    """The shape of an area's records: its get answer, else its create answer, else the
    items of its query answer, else its update answer."""
    ops = {op.verb: op for op in load_operations().values() if op.area == area}
    for verb in ("get", "get_metadata", "create", "register"):
        op = ops.get(verb)
        if op is not None and op.output_properties():
            inner = op.output_properties().get(singular(area))
            if inner is not None and inner.get("type") == "object":
                return dict(inner)
            return op.output_schema
    query = ops.get("query")
    if query is not None:
        field = list_field(query)
        items = query.output_properties()[field].get("items", {})
        if isinstance(items, dict) and items.get("properties"):
            return items
    update = ops.get("update")
    return update.output_schema if update is not None else {"type": "object"}


def list_field(op: Operation) -> str:
    """The array field a query answers its records in (`users`, `configs`, ...)."""
    arrays = [k for k, v in op.output_properties().items() if v.get("type") == "array"]
    if not arrays:
        raise ValueError(f"{op.name} declares no list in its answer")
    return singular(op.area) + "s" if singular(op.area) + "s" in arrays else arrays[0]


def status_code(value: Any, field: str = "status") -> int:
    """An EnumStatus given by name or number, as its number."""
    if isinstance(value, bool):
        raise EdgeError(400, f"{field}: must be an EnumStatus name or number")
    if isinstance(value, int):
        return value
    names = enum_codes("enum_status")
    text = str(value).strip().upper()
    if text in names:
        return names[text]
    if text.isascii() and text.isdigit():
        return int(text)
    raise EdgeError(400, f"{field}: {value!r} is not one of {', '.join(names)}")


@cache
def uses_enum_status(area: str) -> bool:
    """Whether the area's `status` is a proto.EnumStatus (ACTIVE by default)."""
    status = record_schema(area).get("properties", {}).get("status", {})
    query = load_operations().get(f"lacework_edge.{area}.query")
    if isinstance(status.get("x-enum-names"), dict):
        return True
    # Dashboards: the record's status is a bare integer, but the query filters it by name.
    described = query.input_schema["properties"].get("status", {}) if query else {}
    return bool(status) and "INIT" in str(described.get("description", ""))


def make_record(
    tenant: LaceworkEdgeTenant, area: str, fields: Record, *, user_uuid: str, account: str
) -> Record:
    """A complete record of `area` from `fields`, with id, account and timestamps set."""
    schema = record_schema(area)
    props = schema.get("properties", {})
    record: Record = skeleton(schema)
    record.update({k: copy.deepcopy(v) for k, v in fields.items() if k in props})
    now = tenant.tick()
    if "uuid" in props and not record.get("uuid"):
        record["uuid"] = tenant.new_uuid()
    for key, value in (
        ("account_name", account),
        ("create_time", now),
        ("update_time", now),
        ("creator_uuid", user_uuid),
        ("creator_display_name", tenant.user_name(user_uuid)),
    ):
        if key in props:
            record[key] = value
    if uses_enum_status(area):
        record["status"] = status_code(record.get("status") or ACTIVE)
    return record


def new_record(call: Call, area: str, fields: Record) -> Record:
    """`make_record` for the caller of `call`."""
    return make_record(call.tenant, area, fields, user_uuid=call.user_uuid, account=call.account)


def _fields(call: Call) -> Record:
    """The record fields of a create/update body: the wrapped record, plus flat fields."""
    wrapper = singular(call.op.area)
    body = {k: v for k, v in call.body.items() if k not in _CONTROL_FIELDS}
    inner = body.pop(wrapper, None)
    fields = dict(inner) if isinstance(inner, dict) else {}
    for key, value in body.items():
        fields.setdefault(key, value)
    return fields


def answer_record(op: Operation, record: Record, **extra: Any) -> Record:
    """`record` in the shape `op` answers: bare, or wrapped as {"<singular>": record}."""
    props = op.output_properties()
    wrapper = singular(op.area)
    if wrapper in props and props[wrapper].get("type") == "object":
        answer: Record = {wrapper: record}
        for key in ("uuid", "account_name"):
            if key in props and key in record:
                answer[key] = record[key]
        answer.update({k: v for k, v in extra.items() if k in props})
        return answer
    return record


def enum_status_filter(raw: Any) -> set[int] | None:
    """The statuses a comma separated `status` query asks for (None: no filter)."""
    if raw is None or str(raw).strip() == "":
        return None
    return {status_code(part, "status") for part in str(raw).split(",") if part.strip()}


def _csv(raw: Any) -> set[str]:
    return {part.strip() for part in str(raw).split(",") if part.strip()}


def _matches(call: Call, record: Record) -> bool:
    query = call.query
    statuses = enum_status_filter(query.get("status"))
    if statuses is not None and record.get("status") not in statuses:
        return False
    if query.get("tag") and not _csv(query["tag"]) & set(record.get("tags") or []):
        return False
    if query.get("datasource"):
        wanted = _csv(query["datasource"])
        if str(record.get("data_source")) not in wanted:
            return False
    if "data_source" in query and record.get("data_source") != query["data_source"]:
        return False
    return not (
        call.op.area == "tokens" and not query.get("get_all") and record.get("status") != ACTIVE
    )


def generic_query(call: Call) -> Record:
    records = [r for r in call.tenant.store(call.op.area) if _matches(call, r)]
    return {list_field(call.op): records}


def generic_get(call: Call) -> Record:
    return answer_record(call.op, call.tenant.store(call.op.area).require(call.param()))


def generic_create(call: Call) -> Record:
    fields = _fields(call)
    if call.body.get("uuid"):
        fields["uuid"] = call.body["uuid"]  # "do not provide unless you know what you are doing"
    record = new_record(call, call.op.area, fields)
    store = call.tenant.store(call.op.area)
    key = str(record.get(store.id_field, ""))
    if not key:
        raise EdgeError(400, f"{store.id_field}: is required")
    if key in store:
        raise EdgeError(400, f"{store.id_field}: {singular(call.op.area)} {key!r} already exists")
    store.put(record)
    return answer_record(call.op, record)


def update_record(tenant: LaceworkEdgeTenant, area: str, record: Record, call: Call) -> Record:
    """Merge the call's fields into `record`; reset `attributes_to_delete`; move update_time."""
    schema = record_schema(area)
    props = schema.get("properties", {})
    fields = _fields(call)
    for key, value in fields.items():
        if key not in props or key in _SERVER_FIELDS:
            continue
        if key == "status" and uses_enum_status(area):
            value = status_code(value)
        record[key] = copy.deepcopy(value)
    zero = skeleton(schema)
    if uses_enum_status(area):
        zero["status"] = ACTIVE
    for name in call.body.get("attributes_to_delete") or []:
        if name in props and name not in _SERVER_FIELDS:
            record[name] = copy.deepcopy(zero.get(name))
    now = tenant.tick()
    for key, value in (
        ("update_time", now),
        ("updater_uuid", call.user_uuid),
        ("updater_display_name", tenant.user_name(call.user_uuid)),
    ):
        if key in props:
            record[key] = value
    return record


def generic_update(call: Call) -> Record:
    tenant = call.tenant
    record = tenant.store(call.op.area).require(call.param())
    expected = call.body.get("expected_update_time")
    if expected and expected != record.get("update_time"):
        raise EdgeError(
            409,
            f"{singular(call.op.area)} {call.param()} was updated at {record.get('update_time')}; "
            "refresh and retry",
        )
    update_record(tenant, call.op.area, record, call)
    return answer_record(call.op, record, attributes_to_delete=[])
