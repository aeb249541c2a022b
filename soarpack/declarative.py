"""Run an action declared as a single HTTP request in the manifest.

The `http` block says where each input goes (path, query, body, header), which
inputs become `field eq 'value'` query terms, whether to page with limit/skip, and
which response field holds the records. Python is written only where an action
does something this cannot describe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from soarpack import errors
from soarpack.http import errormap
from soarpack.manifest import ActionSpec, HttpSpec

if TYPE_CHECKING:
    from soarpack.http.request import Reply


class Session(Protocol):
    """What a declared request needs of the engine's per-invocation session (written
    here, not imported: the engine imports this module)."""

    @property
    def action(self) -> ActionSpec: ...

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        raw: bool = False,
        side_effect: str | None = None,
    ) -> Reply: ...


# Characters a path segment carries as they are (RFC 3986 unreserved): most IDs.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")


def run_declared(session: Session, spec: HttpSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    inputs = _with_query_clauses(spec, inputs)
    if spec.paging == "limit_skip" and inputs.get("all_pages"):
        return _all_pages(session, spec, inputs)
    records_or_data = _send(session, spec, inputs)
    if spec.records is None:
        return records_or_data if isinstance(records_or_data, dict) else {"result": records_or_data}
    out: dict[str, Any] = {spec.output or "records": records_or_data, "count": len(records_or_data)}
    if spec.paging == "limit_skip":
        skip, limit = int(inputs.get("skip", 0)), int(inputs["limit"])
        out["paging"] = {
            "pages": 1,
            "next_skip": skip + len(records_or_data),
            "truncated": len(records_or_data) >= limit,
        }
    return out


def _all_pages(session: Session, spec: HttpSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    limit, cap = int(inputs["limit"]), int(inputs["max_records"])
    skip = int(inputs.get("skip", 0))
    records: list[Any] = []
    pages = 0
    truncated = False
    while True:
        page_limit = min(limit, cap - len(records))
        page = _send(session, spec, {**inputs, "limit": page_limit, "skip": skip})
        pages += 1
        records.extend(page)
        skip += len(page)
        if len(page) < page_limit:
            break  # a short page is the last one
        if len(records) >= cap:
            truncated = True
            break
    return {
        spec.output or "records": records,
        "count": len(records),
        "paging": {"pages": pages, "next_skip": skip, "truncated": truncated},
    }


def send_declared(
    session: Session,
    spec: HttpSpec,
    inputs: Mapping[str, Any],
    *,
    raw: bool = False,
    side_effect: str | None = None,
) -> Reply:
    """The declared request, once, with each input where `spec` places it; the answer as is
    (`raw`: its bytes). `side_effect` may narrow the action's own (Session.request)."""
    path = spec.path
    for name in spec.path_params:
        value = str(inputs[name])
        segment = value if _UNRESERVED.fullmatch(value) else quote(value, safe="")
        if segment in ("", ".", ".."):
            # URL rules drop "." and ".." segments: /devices/.. would reach /api/v1 itself.
            raise errors.InputError(
                session.action.name,
                [errors.FieldError(f"/{name}", "path_segment", "cannot be empty, . or ..")],
            )
        path = path.replace("{" + name + "}", segment)
    params: dict[str, Any] = dict(spec.fixed_query)
    params.update({n: _query_value(inputs[n]) for n in spec.query if inputs.get(n) is not None})
    body = {n: inputs[n] for n in spec.body if inputs.get(n) is not None}
    headers = {h: str(inputs[n]) for h, n in spec.headers.items() if inputs.get(n) is not None}
    return session.request(
        spec.method,
        path,
        params=params,
        json_body=body if (body or spec.body) else None,
        headers=headers,
        raw=raw,
        side_effect=side_effect,
    )


def _send(session: Session, spec: HttpSpec, inputs: Mapping[str, Any]) -> Any:
    reply = send_declared(session, spec, inputs)
    if spec.records is None:
        return reply.data
    records = reply.data.get(spec.records) if isinstance(reply.data, dict) else None
    if not isinstance(records, list):
        raise errormap.FAILURES["wrong_shape"].build(
            f"The answer to {session.action.name} has no `{spec.records}` list.",
            status=reply.status,
        )
    return records


def _with_query_clauses(spec: HttpSpec, inputs: Mapping[str, Any]) -> dict[str, Any]:
    """AND each clause input into the query input as `field eq 'value'`.

    Clause values are schema-restricted to contain no quote or backslash, so they
    cannot change the query's structure.
    """
    out = dict(inputs)
    clauses = spec.query_clauses
    if clauses is None:
        return out
    terms = [
        f"{field} eq '{out.pop(name)}'"
        for name, field in clauses.fields.items()
        if out.get(name) is not None
    ]
    if not terms:
        return out
    existing = out.get(clauses.into)
    if existing:
        terms.insert(0, f"({existing})")
    out[clauses.into] = " and ".join(terms)
    return out


def _query_value(value: Any) -> Any:
    # URL parameters are text; JSON booleans become the lowercase words vendors expect.
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
