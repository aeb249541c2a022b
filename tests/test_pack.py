"""Finding and loading packs; `soarpack validate`'s checks on broken packs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from soarpack.checks import pack_problems
from soarpack.errors import ConfigError, PackError
from soarpack.pack import Pack, find_pack_dir
from tests.conftest import REPO


def edit_manifest(root: Path, change: Callable[[dict[str, Any]], None]) -> None:
    path = root / "manifest.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_pack_dir_precedence(pack_copy: Path) -> None:
    assert find_pack_dir(pack_copy, env={}) == pack_copy
    assert find_pack_dir(None, env={"SOARPACK_PACK": str(pack_copy)}) == pack_copy
    assert find_pack_dir(None, env={}) == REPO  # the checkout this engine runs from


def test_pack_dir_without_manifest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"has no manifest\.yaml"):
        find_pack_dir(tmp_path, env={})


def test_manifest_schema_is_enforced_on_load_with_locations(pack_copy: Path) -> None:
    def break_it(data: dict[str, Any]) -> None:
        data["actions"]["netskope.alerts.list"]["side_effect"] = "maybe"
        del data["actions"]["netskope.clients.list"]["title"]

    edit_manifest(pack_copy, break_it)
    with pytest.raises(PackError) as caught:
        Pack.load(pack_copy)
    where = [w for w, _ in caught.value.problems]
    assert "manifest.yaml#/actions/netskope.alerts.list/side_effect" in where
    assert "manifest.yaml#/actions/netskope.clients.list" in where


@pytest.mark.parametrize(
    ("pattern", "loads"),
    [
        pytest.param("(?i)invalid token|expired", True, id="python-inline-flag"),
        pytest.param("token (expired", False, id="unbalanced"),
    ],
)
def test_an_auth_pattern_must_be_a_python_regular_expression(
    pack_copy: Path, pattern: str, loads: bool
) -> None:
    def set_pattern(data: dict[str, Any]) -> None:
        data["connections"]["netskope"]["vendor_errors"]["auth_pattern"] = pattern

    edit_manifest(pack_copy, set_pattern)
    if loads:
        rules = Pack.load(pack_copy).connection("netskope").vendor_errors
        assert rules is not None and rules.auth_regex() is not None
        return
    with pytest.raises(PackError) as caught:
        Pack.load(pack_copy)
    [(where, message)] = caught.value.problems
    assert where == "manifest.yaml"
    assert "auth_pattern is not a Python regular expression" in message
    assert "vendor_errors" in message  # msgspec names the path


def test_unknown_action_suggests_close_names(pack: Pack) -> None:
    with pytest.raises(ConfigError, match=r"Did you mean: netskope\.alerts\.list"):
        pack.action("netskope.alert.list")


def test_handlers_load_under_the_soarpack_namespace(pack: Pack) -> None:
    handler = pack.handler(pack.action("netskope.client_status.status"))
    assert handler is not None
    assert handler.__module__ == "soarpack._pack_actions.netskope.client_status"


def test_the_shipped_pack_is_valid(pack: Pack) -> None:
    assert pack_problems(pack, REPO / "tests") == []


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        pytest.param(
            lambda d: d["actions"]["netskope.alerts.list"]["input"]["properties"].update(
                limit={"type": "integr"}
            ),
            "actions.netskope.alerts.list.input#/properties/limit/type",
            "not a valid JSON Schema",
            id="invalid-schema",
        ),
        pytest.param(
            lambda d: d["actions"]["netskope.alerts.list"]["input"]["properties"].update(
                query={"$ref": "netskope/nope.json"}
            ),
            "actions.netskope.alerts.list.input",
            "does not resolve",
            id="dangling-ref",
        ),
        pytest.param(
            lambda d: d["actions"]["netskope.client_status.status"].update(
                handler="netskope/client_status.py:nothing_here"
            ),
            "actions.netskope.client_status.status.handler",
            "has no function nothing_here",
            id="missing-handler",
        ),
        pytest.param(
            lambda d: d["actions"]["netskope.alerts.list"]["examples"].append({"timeperiod": 5}),
            "actions.netskope.alerts.list.examples[3]",
            "is not one of",
            id="bad-example",
        ),
        pytest.param(
            lambda d: d["actions"]["netskope.alerts.report"]["http"]["query"].remove("groupby"),
            "actions.netskope.alerts.report.http",
            "'groupby' is declared but never sent",
            id="unplaced-input",
        ),
        pytest.param(
            lambda d: d["actions"]["netskope.alerts.list"]["input"]["properties"]["user"].update(
                {"x-semantic": "e-mail"}
            ),
            "actions.netskope.alerts.list.input/user",
            "unknown x-semantic 'e-mail'",
            id="unknown-semantic",
        ),
        pytest.param(
            lambda d: d["connections"]["netskope"].update(test_action="netskope.alerts.nothing"),
            "connections.netskope.test_action",
            "must be a read action",
            id="bad-test-action",
        ),
        pytest.param(
            lambda d: d["connections"]["netskope"]["probe"].update(
                action="netskope.dataexport.fetch_page"
            ),
            "connections.netskope.probe.action",
            "must be a read action of this connection that declares http",
            id="probe-of-another-connection",
        ),
        pytest.param(
            lambda d: d["connections"]["netskope"]["probe"].update(inputs={"limit": 0}),
            "connections.netskope.probe.inputs",
            "minimum",
            id="probe-input-refused",
        ),
        pytest.param(
            lambda d: d["connections"]["lacework_edge"]["probe"].update(report_settings=["tenant"]),
            "connections.lacework_edge.probe",
            "no setting 'tenant'",
            id="probe-reports-unknown-setting",
        ),
        pytest.param(
            lambda d: d["actions"]["netskope.alerts.list"].pop("http"),
            "actions.netskope.alerts.list",
            "declares neither http nor handler",
            id="no-http-no-handler",
        ),
    ],
)
def test_validate_finds_each_problem_with_its_location(
    pack_copy: Path, change: Callable[[dict[str, Any]], None], where: str, problem: str
) -> None:
    edit_manifest(pack_copy, change)
    found = pack_problems(Pack.load(pack_copy))
    assert any(w.startswith(where) and problem in p for w, p in found), found


def test_validate_requires_a_test_per_action(pack_copy: Path) -> None:
    tests = pack_copy / "tests"
    tests.mkdir()
    (tests / "test_some.py").write_text(
        'ACTIONS = ["netskope.alerts.report"]\n'
        'engine.invoke("netskope.alerts.list", {})\n'
        'run("invoke", "netskope.clients.list")\n'
    )
    found = pack_problems(Pack.load(pack_copy), tests)
    assert ("actions.netskope.alerts.report", "no test under tests/ invokes it by name") in found
    assert not any(
        w in ("actions.netskope.alerts.list", "actions.netskope.clients.list") for w, _ in found
    )


def test_validate_reports_everything_sorted(pack_copy: Path) -> None:
    def break_two(data: dict[str, Any]) -> None:
        data["actions"]["netskope.alerts.report"]["examples"].append({"groupby": "user bad"})
        data["actions"]["netskope.alerts.list"]["examples"].append({"timeperiod": 5})

    edit_manifest(pack_copy, break_two)
    found = pack_problems(Pack.load(pack_copy))
    assert len(found) >= 2 and found == sorted(found)


def test_a_schema_file_that_is_not_json_is_a_pack_error(pack_copy: Path) -> None:
    (pack_copy / "schemas" / "netskope" / "v1.json").write_text('{"$defs": {')
    with pytest.raises(PackError) as caught:
        Pack.load(pack_copy)
    [(where, problem)] = caught.value.problems
    assert where == "schemas/netskope/v1.json" and problem.startswith("not valid JSON")


def test_no_description_is_split_by_yaml_flow_syntax() -> None:
    """An unquoted comma in `{..., description: a, b}` ends the description at `a` and
    adds a stray key `b` with no value: the YAML parses, the schema is silently wrong."""

    def stray(value: object, where: str) -> list[str]:
        if isinstance(value, dict):
            found = [f"{where}: {key!r}" for key, v in value.items() if v is None and " " in key]
            return found + [f for k, v in value.items() for f in stray(v, f"{where}/{k}")]
        if isinstance(value, list):
            return [f for i, v in enumerate(value) for f in stray(v, f"{where}/{i}")]
        return []

    files = [REPO / "manifest.yaml", *sorted((REPO / "playbooks").glob("*.yaml"))]
    found = [f for path in files for f in stray(yaml.safe_load(path.read_text()), path.name)]
    assert found == []
