"""`soarpack validate`: everything that can be wrong with a pack, found in one pass.

Problems are collected (not raised one at a time) as (location, problem) pairs and
returned sorted, so one run shows everything to fix.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from soarpack import annotated
from soarpack.errors import PackError
from soarpack.http.tokens import PROVIDERS
from soarpack.manifest import ActionSpec, ConnectionSpec
from soarpack.pack import Pack, load_handler
from soarpack.schemas import SECRET_KEY, SEMANTIC_KEY

Problem = tuple[str, str]
_PAGING_INPUTS = {"all_pages", "max_records"}


def pack_problems(pack: Pack, tests_dir: Path | None = None) -> list[Problem]:
    """Every problem found in `pack`; `tests_dir` enables the "has a test" check."""
    problems: list[Problem] = []
    problems += _schema_file_problems(pack)
    semantic_types = set(pack.schemas.files.get("common/semantic.json", {}).get("enum", []))
    for name, conn in pack.connections.items():
        where = f"connections.{name}"
        problems += _schema_problems(pack, conn.settings, f"{where}.settings")
        props = pack.schemas.properties(conn.settings)
        if "base_url" not in conn.settings.get("required", []):
            problems.append((f"{where}.settings", "must require base_url"))
        if not props.get(conn.auth.setting, {}).get(SECRET_KEY):
            problems.append(
                (
                    f"{where}.auth",
                    f"setting {conn.auth.setting!r} must exist and be marked x-secret",
                )
            )
        problems += _exchange_problems(conn, props, where)
        test = pack.actions.get(conn.test_action)
        if test is None or test.connection != name or test.side_effect != "read":
            problems.append(
                (
                    f"{where}.test_action",
                    f"{conn.test_action!r} must be a read action of this connection",
                )
            )
        problems += _probe_problems(pack, conn, props, f"{where}.probe")
    for name in pack.actions:
        problems += _action_problems(pack, name, semantic_types)
    if tests_dir is not None:
        problems += _untested(pack, tests_dir)
    return sorted(set(problems))


def _exchange_problems(conn: ConnectionSpec, props: dict[str, Any], where: str) -> list[Problem]:
    """The settings a token exchange reads must exist, its secrets marked x-secret."""
    exchange = conn.auth.exchange
    if exchange is None:
        return []
    provider = PROVIDERS.get(exchange.kind)
    if provider is None:
        return [(f"{where}.auth.exchange", f"no token provider for kind {exchange.kind!r}")]
    problems: list[Problem] = []
    for setting in provider.required_settings:
        if setting not in props:
            problems.append(
                (f"{where}.settings", f"{exchange.kind} exchange needs a setting {setting!r}")
            )
        elif setting in provider.secret_settings and not props[setting].get(SECRET_KEY):
            problems.append((f"{where}.settings", f"setting {setting!r} must be marked x-secret"))
    return problems


def _schema_file_problems(pack: Pack) -> list[Problem]:
    problems: list[Problem] = []
    for rel, contents in pack.schemas.files.items():
        problems += _schema_problems(pack, contents, f"schemas/{rel}", base=rel)
    return problems


def _schema_problems(pack: Pack, schema: Any, where: str, base: str = "") -> list[Problem]:
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path)
        return [(f"{where}#/{path}", f"not a valid JSON Schema: {exc.message}")]
    return [(where, p) for p in pack.schemas.check_refs(schema, base)]


def _action_problems(pack: Pack, name: str, semantic_types: set[str]) -> list[Problem]:
    action = pack.actions[name]
    where = f"actions.{name}"
    problems = _schema_problems(pack, action.input, f"{where}.input")
    problems += _schema_problems(pack, action.output, f"{where}.output")
    if problems:
        return problems  # the checks below need working schemas
    if action.connection not in pack.connections:
        problems.append((f"{where}.connection", f"unknown connection {action.connection!r}"))
    conn = pack.connections.get(action.connection)
    probed = conn is not None and conn.test_action == name and conn.probe is not None
    if action.handler is None and action.http is None and not probed:
        problems.append(
            (where, "declares neither http nor handler (only a probed test action may)")
        )
    if action.handler:
        try:
            load_handler(pack.root / "actions", action.handler)
        except PackError as exc:
            problems += [(f"{where}.handler", p) for _, p in exc.problems]
    inputs = pack.schemas.properties(action.input)
    if action.http is not None:
        placed = action.http.input_names()
        for missing in sorted(placed - set(inputs)):
            if action.http.paging and missing in _PAGING_INPUTS | {"limit", "skip"}:
                problems.append((f"{where}.input", f"paging needs an input {missing!r}"))
            elif not action.http.paging or missing not in _PAGING_INPUTS:
                problems.append(
                    (f"{where}.http", f"places input {missing!r}, which the input schema lacks")
                )
        if action.handler is None:
            for unplaced in sorted(set(inputs) - placed):
                problems.append((f"{where}.http", f"input {unplaced!r} is declared but never sent"))
    for index, example in enumerate(action.examples):
        filled = pack.schemas.apply_defaults(action.input, example)
        for error in pack.schemas.errors(action.input, filled, strict=True):
            problems.append((f"{where}.examples[{index}]", str(error)))
    for part in ("input", "output"):
        for pointer, tag in pack.schemas.semantic_fields(getattr(action, part)):
            if tag not in semantic_types:
                problems.append((f"{where}.{part}{pointer}", f"unknown {SEMANTIC_KEY} {tag!r}"))
    plan = annotated.names_plan(pack.schemas, action.output)
    for field in plan.unflagged() if plan is not None else []:
        problems.append(
            (
                f"{where}.output",
                f"names the codes of {field!r}, but no object around it declares "
                f"{annotated.UNKNOWN_KEY!r} (common/codes.json) to flag the unknown ones",
            )
        )
    problems += _verify_problems(pack, action, f"{where}.verify")
    problems += _target_problems(pack, action, f"{where}.input")
    return problems


def _probe_problems(
    pack: Pack, conn: ConnectionSpec, props: dict[str, Any], where: str
) -> list[Problem]:
    """The probe sends the declared request of a read action of this connection, with
    inputs it accepts, and reports settings that exist."""
    probe = conn.probe
    if probe is None:
        return []
    action = pack.actions.get(probe.action)
    if (
        action is None
        or action.connection != conn.name
        or action.side_effect != "read"
        or action.http is None
    ):
        return [
            (
                f"{where}.action",
                f"{probe.action!r} must be a read action of this connection that declares http",
            )
        ]
    named = set(probe.setting_inputs.values()) | set(probe.report_settings)
    problems = [(f"{where}", f"no setting {s!r}") for s in sorted(named - set(props))]
    # A setting's value is only known at run time: a placeholder text stands for it.
    sent = {**probe.inputs, **dict.fromkeys(probe.setting_inputs, "setting")}
    problems += [(f"{where}.inputs", str(e)) for e in pack.schemas.errors(action.input, sent)]
    return problems


def _target_problems(pack: Pack, action: ActionSpec, where: str) -> list[Problem]:
    """A destructive action never runs without a target: it requires at least one input,
    and no required text or list may be empty (`{}` or `{"devices": []}` is bad input,
    never a request the vendor may read as "all")."""
    if action.side_effect != "destructive":
        return []
    required = pack.schemas.resolve(action.input)[0].get("required", [])
    if not required:
        return [(where, "a destructive action must require its targets")]
    problems: list[Problem] = []
    props = pack.schemas.properties(action.input)
    for name in required:
        prop = props.get(name, {})
        kinds = prop.get("type")
        kinds = set(kinds) if isinstance(kinds, list) else {kinds}
        empty_text = "string" in kinds and not prop.get("minLength")
        empty_list = "array" in kinds and not prop.get("minItems")
        if (empty_text and "enum" not in prop) or empty_list:
            problems.append(
                (
                    f"{where}.{name}",
                    "a destructive action's target may not be empty (minLength/minItems 1)",
                )
            )
    return problems


def _verify_problems(pack: Pack, action: ActionSpec, where: str) -> list[Problem]:
    """A verification belongs to a change and checks it with a read of the same connection.

    The read is run on resume to decide whether to send the change again, so it must be
    unable to change anything itself, and reach the same tenant with the same credential.
    Expression syntax is the playbook checks' business; the schema fixes the `${{ }}` form.
    """
    verify = action.verify
    if verify is None:
        return []
    problems: list[Problem] = []
    if action.side_effect == "read":
        problems.append((where, "a read action changes nothing, so there is nothing to verify"))
    read = pack.actions.get(verify.action)
    if read is None:
        return [*problems, (f"{where}.action", f"unknown action {verify.action!r}")]
    if read.side_effect != "read":
        problems.append(
            (f"{where}.action", f"{verify.action} is a {read.side_effect} action, not a read")
        )
    if read.connection != action.connection:
        problems.append(
            (
                f"{where}.action",
                f"{verify.action} is on connection {read.connection!r}, not {action.connection!r}",
            )
        )
    accepted = pack.schemas.properties(read.input)
    for name in sorted(set(verify.with_) - set(accepted)):
        problems.append((f"{where}.with", f"{name!r} is not an input of {verify.action}"))
    return problems


def _invoked(name: str, text: str) -> bool:
    """`invoke("name"` in Python, `"invoke", "name"` as a CLI argument list, or the first
    argument of a `pytest.param(` row."""
    quoted = rf"[\"']{re.escape(name)}[\"']"
    # A pytest.param row of a table whose test invokes each row's action counts too.
    pattern = rf"invoke\(\s*{quoted}|[\"']invoke[\"'],\s*{quoted}|pytest\.param\(\s*{quoted}"
    return re.search(pattern, text) is not None


def _untested(pack: Pack, tests_dir: Path) -> list[Problem]:
    """Actions whose name appears in no test file: each must be invoked by name somewhere."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(tests_dir.rglob("test_*.py")))
    return [
        (f"actions.{name}", f"no test under {tests_dir.name}/ invokes it by name")
        for name in pack.actions
        if not _invoked(name, text)
    ]
