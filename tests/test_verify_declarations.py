"""Verifications (`verify` in the manifest): what `soarpack validate` refuses, and that each
shipped declaration tells a change that is there from one that is not, on the simulators.

The runner owns expression evaluation; the small evaluator here follows the design's rules
(a whole-string `${{ }}` keeps the value's JSON type, JMESPath inside, a NotFoundError from
the read is `result: null`) so the declarations are checked against real data shapes.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jmespath
import pytest
import yaml

from soarpack import errors
from soarpack.checks import pack_problems
from soarpack.engine import Engine
from soarpack.manifest import to_data
from soarpack.pack import Pack
from soarpack.sandbox import (
    InProcessTransport,
    SandboxState,
    create_lacework_edge_app,
    create_netskope_app,
)
from tests.conftest import CANARY, REPO, EngineFactory
from tests.lacework_edge.helpers import BASE

PACK = Pack.load(REPO)
Change = Callable[[dict[str, Any]], None]

# -- what validate refuses ------------------------------------------------------------


def _verify_of(name: str, **fields: Any) -> Change:
    """Set fields of `name`'s verify (None deletes one), adding a verify if it has none."""

    def change(data: dict[str, Any]) -> None:
        verify = data["actions"][name].setdefault(
            "verify",
            {
                "action": "netskope.clients.list",
                "with": {},
                "done_when": "${{ result != null }}",
            },
        )
        for key, value in fields.items():
            if value is None:
                verify.pop(key, None)
            else:
                verify[key] = value

    return change


SUSPEND = "lacework_edge.users.suspend"
# Each row breaks another action, so one broken pack shows every row's problem at once
# (the pack checks take seconds); load-time rows break the schema, checked rows the refs.
LOAD_TIME = [
    pytest.param(
        _verify_of(SUSPEND, done_when="result.status_name == 'SUSPENDED'"),
        f"manifest.yaml#/actions/{SUSPEND}/verify/done_when",
        "does not match",
        id="done-when-not-an-expression",
    ),
    pytest.param(
        _verify_of("lacework_edge.users.reactivate", done_when="${{   }}"),
        "manifest.yaml#/actions/lacework_edge.users.reactivate/verify/done_when",
        "does not match",
        id="done-when-empty-expression",
    ),
    pytest.param(
        _verify_of("lacework_edge.alerts.ack", done_when=True),
        "manifest.yaml#/actions/lacework_edge.alerts.ack/verify/done_when",
        "is not of type 'string'",
        id="done-when-not-a-string",
    ),
    pytest.param(
        _verify_of("lacework_edge.alerts.close", done_when=None),
        "manifest.yaml#/actions/lacework_edge.alerts.close/verify",
        "'done_when' is a required property",
        id="done-when-missing",
    ),
    pytest.param(
        _verify_of("lacework_edge.alerts.set_status", retries=2),
        "manifest.yaml#/actions/lacework_edge.alerts.set_status/verify",
        "Additional properties are not allowed",
        id="unknown-field",
    ),
]
CHECKED = [
    pytest.param(
        _verify_of("netskope.clients.list"),
        "actions.netskope.clients.list.verify",
        "a read action changes nothing, so there is nothing to verify",
        id="verify-on-a-read-action",
    ),
    pytest.param(
        _verify_of(SUSPEND, action="lacework_edge.users.fetch"),
        f"actions.{SUSPEND}.verify.action",
        "unknown action 'lacework_edge.users.fetch'",
        id="unknown-action",
    ),
    pytest.param(
        _verify_of("lacework_edge.users.reactivate", action="lacework_edge.users.update_profile"),
        "actions.lacework_edge.users.reactivate.verify.action",
        "lacework_edge.users.update_profile is a write action, not a read",
        id="verified-by-a-write",
    ),
    pytest.param(
        _verify_of("lacework_edge.alerts.ack", action="netskope.clients.list", **{"with": {}}),
        "actions.lacework_edge.alerts.ack.verify.action",
        "netskope.clients.list is on connection 'netskope', not 'lacework_edge'",
        id="read-on-another-connection",
    ),
    pytest.param(
        _verify_of("lacework_edge.alerts.set_status", **{"with": {"id": "${{ inputs.x }}"}}),
        "actions.lacework_edge.alerts.set_status.verify.with",
        "'id' is not an input of lacework_edge.alerts.get",
        id="with-names-no-input-of-the-read",
    ),
]


def _found(root: Path, changes: list[Change]) -> list[tuple[str, str]]:
    """What `soarpack validate` reports after `changes`: load-time problems or pack checks."""
    for part in ("schemas", "actions"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    data = yaml.safe_load((REPO / "manifest.yaml").read_text())
    for change in changes:
        change(data)
    (root / "manifest.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    try:
        return pack_problems(Pack.load(root))
    except errors.PackError as exc:
        return exc.problems


@pytest.fixture(scope="module")
def found(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, str]]]:
    return {
        "load": _found(tmp_path_factory.mktemp("load"), [p.values[0] for p in LOAD_TIME]),
        "checks": _found(tmp_path_factory.mktemp("checks"), [p.values[0] for p in CHECKED]),
    }


@pytest.mark.parametrize(("change", "where", "problem"), LOAD_TIME)
def test_loading_refuses_a_malformed_verification(
    found: dict[str, list[tuple[str, str]]], change: Change, where: str, problem: str
) -> None:
    assert any(w == where and problem in p for w, p in found["load"]), found["load"]


@pytest.mark.parametrize(("change", "where", "problem"), CHECKED)
def test_validate_refuses_a_verification_that_cannot_check_the_change(
    found: dict[str, list[tuple[str, str]]], change: Change, where: str, problem: str
) -> None:
    assert (where, problem) in found["checks"], found["checks"]


def test_each_broken_verification_is_reported_once(
    found: dict[str, list[tuple[str, str]]],
) -> None:
    verify_problems = [(w, p) for w, p in found["checks"] if ".verify" in w]
    assert len(verify_problems) == len(CHECKED), verify_problems


def test_a_verification_loads_with_its_fields(pack: Pack) -> None:
    verify = pack.action(SUSPEND).verify
    assert verify is not None and verify.action == "lacework_edge.users.get"
    assert verify.with_ == {"uuid": "${{ inputs.user_uuid }}"}
    assert to_data(verify)["with"] == verify.with_  # dumped under the manifest's name


# -- the shipped declarations, on the simulators --------------------------------------


def _expression(text: str) -> str | None:
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.DOTALL)
    return match.group(1).strip() if match else None


def _resolve(value: Any, scope: dict[str, Any]) -> Any:
    expression = _expression(value) if isinstance(value, str) else None
    return value if expression is None else jmespath.search(expression, scope)


def _effect_is_there(engine: Engine, name: str, inputs: dict[str, Any]) -> Any:
    verify = PACK.actions[name].verify
    assert verify is not None
    read_inputs = {k: _resolve(v, {"inputs": inputs}) for k, v in verify.with_.items()}
    try:
        result = engine.invoke(verify.action, read_inputs).data
    except errors.NotFoundError:
        result = None
    return _resolve(verify.done_when, {"result": result, "inputs": inputs})


DEVICE = {"user_uuid": "ex-users-1", "uuid": "ex-devices-1"}
DOCUMENT = "ex-documents-1"
Step = tuple[str, dict[str, Any]]
CASES = [
    pytest.param(SUSPEND, {"user_uuid": "ex-users-1"}, [], id="suspend"),
    pytest.param(
        "lacework_edge.users.reactivate",
        {"user_uuid": "ex-users-1"},
        [(SUSPEND, {"user_uuid": "ex-users-1"})],
        id="reactivate",
    ),
    pytest.param("lacework_edge.alerts.ack", {"alert_uuid": "ex-alerts-1"}, [], id="ack"),
    pytest.param(
        "lacework_edge.alerts.set_status",
        {"alert_uuid": "ex-alerts-1", "status": "CLOSED"},
        [],
        id="set_status-by-name",
    ),
    pytest.param(
        "lacework_edge.alerts.set_status",
        {"alert_uuid": "ex-alerts-1", "status": 2},
        [],
        id="set_status-by-number",
    ),
    pytest.param(
        "lacework_edge.alerts.close",
        {"alert_uuid": "ex-alerts-1", "incident_status": "BENIGN"},
        [],
        id="close",
    ),
    pytest.param(
        "lacework_edge.alerts.close",
        {"alert_uuid": "ex-alerts-1", "incident_status": 1},
        [("lacework_edge.alerts.set_status", {"alert_uuid": "ex-alerts-1", "status": "CLOSED"})],
        id="close-an-alert-closed-without-that-incident-status",
    ),
    pytest.param("lacework_edge.devices.delete", {"devices": [DEVICE]}, [], id="delete-device"),
    pytest.param(
        "lacework_edge.documents.revoke_access",
        {"uuid": DOCUMENT, "access_id": "perm-ext-1"},
        [("lacework_edge.documents.revoke_access", {"uuid": DOCUMENT, "access_id": "perm-int-1"})],
        id="revoke-access-with-another-access-gone",
    ),
    pytest.param(
        "lacework_edge.documents.revoke_sharing",
        {"uuid": DOCUMENT},
        [],
        id="revoke-all-sharing",
    ),
    pytest.param(
        "lacework_edge.documents.revoke_sharing",
        {"uuid": DOCUMENT, "external_only": True},
        [],
        id="revoke-external-sharing",
    ),
    pytest.param(
        "lacework_edge.documents.revoke_sharing",
        {"uuid": DOCUMENT},
        [("lacework_edge.documents.revoke_sharing", {"uuid": DOCUMENT, "external_only": True})],
        id="revoke-all-sharing-after-external-only",
    ),
    pytest.param(
        "netskope.client_status.delete",
        {"index": "soar-cs"},
        [("netskope.client_status.create", {"index": "soar-cs"})],
        id="delete-client-status-iterator",
    ),
]
APPS = {"lacework_edge": create_lacework_edge_app, "netskope_v2": create_netskope_app}


@pytest.fixture
def sandbox_engine(make_engine: EngineFactory) -> Iterator[Callable[[str], Engine]]:
    """An engine on a fresh simulated tenant of a connection."""
    made: list[InProcessTransport] = []

    def on(connection: str) -> Engine:
        state = SandboxState(token=CANARY, v2_rate_limit=False)
        made.append(InProcessTransport(APPS[connection](state)))
        base = {"base_url": BASE} if connection == "lacework_edge" else {}
        return make_engine(made[-1], connection, **base)

    yield on
    for transport in made:
        transport.close()


@pytest.mark.parametrize(("name", "inputs", "before"), CASES)
def test_the_verification_tells_whether_the_change_is_there(
    name: str,
    inputs: dict[str, Any],
    before: list[Step],
    sandbox_engine: Callable[[str], Engine],
) -> None:
    engine = sandbox_engine(PACK.actions[name].connection)
    for action, given in before:
        engine.invoke(action, given)
    assert _effect_is_there(engine, name, inputs) is False
    engine.invoke(name, inputs)
    assert _effect_is_there(engine, name, inputs) is True


def test_every_declared_verification_has_a_case_above() -> None:
    declared = {name for name, action in PACK.actions.items() if action.verify is not None}
    assert declared == {case.values[0] for case in CASES}
    assert declared == {
        "lacework_edge.alerts.ack",
        "lacework_edge.alerts.close",
        "lacework_edge.alerts.set_status",
        "lacework_edge.devices.delete",
        "lacework_edge.documents.revoke_access",
        "lacework_edge.documents.revoke_sharing",
        "lacework_edge.users.reactivate",
        "lacework_edge.users.suspend",
        "netskope.client_status.delete",
    }


def test_a_deleted_device_reads_as_not_found(sandbox_engine: Callable[[str], Engine]) -> None:
    # The convention the devices.delete predicate stands on: the lookup of a gone device
    # is a NotFoundError (which the runner turns into `result: null`), not an empty record.
    engine = sandbox_engine("lacework_edge")
    engine.invoke("lacework_edge.devices.delete", {"devices": [DEVICE]})
    with pytest.raises(errors.NotFoundError):
        engine.invoke("lacework_edge.devices.get", DEVICE)


def test_a_read_error_other_than_not_found_is_not_taken_for_done(
    make_engine: EngineFactory,
) -> None:
    # Only a 404 means "gone": a 500 on the verification read must surface as the error.
    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"message": "boom"})

    engine = make_engine(httpx.MockTransport(broken), "netskope_v2")
    with pytest.raises(errors.ServerError):
        _effect_is_there(engine, "netskope.client_status.delete", {"index": "soar-cs"})
