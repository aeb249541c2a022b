"""The OpenAPI document as one caller sees it: only the operations its key may use.

`/openapi.json` answers with this, so a client generated from it has no operation the
key could only get 403 from. The checks are the endpoints' own: an action as `GET
/actions` lists it (Caller.action_refusal), a playbook's runs when the key may start
it (its name, and every action the playbook may run), a run's page when the key may
see some playbook's runs, and approvals and marks when it may also decide. Component
schemas no operation left refers to are dropped with them.
"""

from __future__ import annotations

from typing import Any

from soarpack.pack import Pack
from soarpack.server.auth import Caller

_SCHEMA_REF = "#/components/schemas/"


def for_caller(document: dict[str, Any], pack: Pack, caller: Caller) -> dict[str, Any]:
    """A copy of `document` (shallow: shared parts are not to be changed) with the
    operations `caller` may not use left out."""
    paths = {
        path: item
        for path, item in document["paths"].items()
        if _may_use(path, item, document["paths"], pack, caller)
    }
    components = dict(document["components"])
    schemas = components["schemas"]
    kept = _reachable([paths, components.get("responses", {})], schemas)
    components["schemas"] = {name: schema for name, schema in schemas.items() if name in kept}
    return {**document, "paths": paths, "components": components}


def _may_use(
    path: str, item: dict[str, Any], all_paths: dict[str, Any], pack: Pack, caller: Caller
) -> bool:
    scope = caller.scope
    if path.startswith("/actions/"):
        spec = pack.actions.get(path.removeprefix("/actions/"))
        return spec is not None and caller.action_refusal(spec) is None
    if path.startswith("/playbooks/"):
        run = item["post"]
        name = path.removeprefix("/playbooks/").removesuffix("/runs")
        return caller.may_run(name) and all(
            f"/actions/{action}" in all_paths
            and caller.action_refusal(pack.actions[action]) is None
            for action in run.get("x-actions", [])
        )
    if path.startswith("/runs/"):
        if path == "/runs/{run_id}":
            return bool(scope.playbooks)
        return bool(scope.playbooks) and scope.approve
    return True


def _reachable(roots: list[Any], schemas: dict[str, Any]) -> set[str]:
    """Names of the component schemas `roots` refer to, directly or through others."""
    found: set[str] = set()
    pending = list(roots)
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith(_SCHEMA_REF):
                name = ref.removeprefix(_SCHEMA_REF)
                if name not in found and name in schemas:
                    found.add(name)
                    pending.append(schemas[name])
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found
