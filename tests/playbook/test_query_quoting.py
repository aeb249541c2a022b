"""Queries built from data (issue 17, section 7): `netskope_quote()` and its `validate` warning."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from soarpack import errors
from soarpack.pack import Pack
from soarpack.playbook import validate_playbook
from soarpack.playbook.expressions import compile_template
from soarpack.playbook.session import run_playbook
from tests.conftest import REPO
from tests.playbook.conftest import Sandbox, write_playbook

HOSTILE = "nobody' or user ne 'x"
NINETY_DAYS = 7776000


def book(query: str) -> str:
    return f"""name: alerts-of-one-user
description: The alerts of one user, by a query built from the input.
inputs:
  type: object
  required: [user]
  properties:
    user: {{type: string}}
steps:
  - id: alerts
    action: netskope.alerts.list
    with:
      timeperiod: {NINETY_DAYS}
      limit: 9999
      query: "{query}"
    outputs:
      users: ${{{{ result.alerts[].user }}}}
outputs:
  users: ${{{{ steps.alerts.outputs.users }}}}
"""


UNQUOTED = book("user eq '${{ inputs.user }}'")
QUOTED = book("user eq ${{ netskope_quote(inputs.user) }}")


def run(sandbox: Sandbox, text: str, user: str) -> Any:
    path = write_playbook(sandbox.runs.parent, text)
    return run_playbook(path, {"user": user}, engine=sandbox.engine, runs_dir_path=sandbox.runs)


def a_user(sandbox: Sandbox) -> tuple[str, int]:
    """A user of the sandbox's alerts and how many alerts the tenant holds for them."""
    users = [str(a["user"]) for a in sandbox.state.alerts if a.get("user")]
    user = max(set(users), key=users.count)
    return user, users.count(user)


def test_an_unquoted_value_widens_the_query_and_the_quoted_one_cannot(sandbox: Sandbox) -> None:
    user, held = a_user(sandbox)
    honest = run(sandbox, UNQUOTED, user)
    assert honest.status == "succeeded"
    mine = honest.outputs["users"]
    assert mine and set(mine) == {user} and len(mine) <= held

    # The reproducer: the input closes the quote and adds `or user ne 'x'`.
    widened = run(sandbox, UNQUOTED, HOSTILE)
    assert widened.status == "succeeded"
    assert len(widened.outputs["users"]) > 5 * len(mine)
    assert len(set(widened.outputs["users"])) > 1
    print(f"{user}: {len(mine)} alerts; widened by the input: {len(widened.outputs['users'])}")

    # Through netskope_quote(): the same alerts for the honest input...
    quoted = run(sandbox, QUOTED, user)
    assert quoted.status == "succeeded" and quoted.outputs["users"] == mine
    # ...and the hostile one refused before anything is sent, naming the step and field.
    sent = len(sandbox.state.request_log)
    refused = run(sandbox, QUOTED, HOSTILE)
    assert refused.status == "failed" and refused.failed_step is not None
    assert len(sandbox.state.request_log) == sent
    failure = refused.failed_step
    assert (failure["type"], failure["step"], failure["field"]) == (
        "ExpressionError",
        "alerts",
        "with",
    )
    assert "in playbook alerts-of-one-user step alerts field with" in failure["message"]
    assert "netskope_quote() refuses" in failure["message"] and "no escape" in failure["message"]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("jane.doe@example.com", "'jane.doe@example.com'"),
        ("", "''"),
        ('say "hi" (a) and b', "'say \"hi\" (a) and b'"),
        (7, "7"),
        (-2.5, "-2.5"),
        (3.0, "3"),
        (["a@x.com", "b@x.com"], "['a@x.com', 'b@x.com']"),
        ([1, "LT-1"], "[1, 'LT-1']"),
    ],
)
def test_netskope_quote_writes_a_literal(value: Any, literal: str) -> None:
    template = compile_template("f eq ${{ netskope_quote(v) }}")
    assert not isinstance(template, str)
    assert template.render({"v": value}) == f"f eq {literal}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (HOSTILE, 'refuses "nobody\' or user ne \'x": it holds "\'"'),
        ("a\\b", "it holds '\\\\'"),
        (None, "not null"),
        (True, "not boolean"),
        ({"a": 1}, "not object"),
        ([], "empty list"),
        (["ok", "o'k"], 'refuses "o\'k"'),
        ([["nested"]], "not list"),
        (float("inf"), "cannot write inf"),
        ("x" * 500 + "'", "refuses 'xxxxx"),
    ],
)
def test_netskope_quote_refuses_what_it_cannot_quote(value: Any, reason: str) -> None:
    template = compile_template("f eq ${{ netskope_quote(v) }}")
    assert not isinstance(template, str)
    with pytest.raises(errors.ExpressionError) as caught:
        template.render({"v": value})
    assert reason in caught.value.reason
    assert len(caught.value.reason) < 300  # a long value is cut, not quoted whole


def warnings_for(tmp_path: Path, pack: Pack, query: str, **props: str) -> list[str]:
    text = book(query)
    for name, kind in props.items():
        text = text.replace(
            "    user: {type: string}", f"    user: {{type: string}}\n    {name}: {kind}"
        )
    problems = validate_playbook(write_playbook(tmp_path, text), pack)
    assert all(p.level == "warning" for p in problems), problems
    return [f"{p.step} {p.field}: {p.message}" for p in problems]


def test_validate_warns_on_an_unquoted_value_in_a_query(tmp_path: Path, pack: Pack) -> None:
    found = warnings_for(tmp_path, pack, "user eq '${{ inputs.user }}'")
    assert len(found) == 1
    assert found[0].startswith("alerts with.query: ${{ inputs.user }} is written into the query")
    assert "${{ netskope_quote(inputs.user) }}" in found[0]


@pytest.mark.parametrize(
    "query",
    [
        "user eq ${{ netskope_quote(inputs.user) }}",
        "${{ inputs.user }}",  # the whole query is the caller's, meant as one
        "alert_type eq 'DLP'",
        "count gt ${{ inputs.n }}",  # an integer input cannot hold a quote
        "alert_type eq ${{ inputs.kind }}",  # nor a fixed list of plain words
    ],
)
def test_validate_does_not_warn_on_a_safe_query(tmp_path: Path, pack: Pack, query: str) -> None:
    assert (
        warnings_for(tmp_path, pack, query, n="{type: integer}", kind="{enum: [DLP, Malware]}")
        == []
    )


def test_validate_warns_on_quotes_around_the_function(tmp_path: Path, pack: Pack) -> None:
    found = warnings_for(tmp_path, pack, "user eq '${{ netskope_quote(inputs.user) }}'")
    assert found == [
        "alerts with.query: netskope_quote() writes the quotes itself: drop the ones around "
        "${{ netskope_quote(inputs.user) }}"
    ]


def test_a_warning_does_not_stop_the_run_nor_fail_validate(
    tmp_path: Path, pack: Pack, capsys: pytest.CaptureFixture[str]
) -> None:
    from soarpack.cli.main import main

    path = write_playbook(tmp_path, UNQUOTED)
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}:14: warning: step alerts: with.query: ${{{{ inputs.user }}}}" in out
    assert "1 playbook(s) valid" in out


def test_no_shipped_playbook_builds_an_unquoted_query(pack: Pack) -> None:
    for path in sorted((pack.root / "playbooks").glob("*.yaml")):
        assert validate_playbook(path, pack) == [], path


def test_the_readme_query_example_validates_and_runs(sandbox: Sandbox) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Queries built from data.**") :]
    step = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert step is not None
    text = book("x").split("steps:\n")[0] + "steps:\n" + step.group(1)
    text += "    outputs:\n      users: ${{ result.alerts[].user }}\n"
    path = write_playbook(sandbox.runs.parent, text)
    assert validate_playbook(path, sandbox.engine.pack) == []
    user, _ = a_user(sandbox)
    done = run_playbook(path, {"user": user}, engine=sandbox.engine, runs_dir_path=sandbox.runs)
    assert done.status == "succeeded"
    assert set(done.steps["alerts"]["outputs"]["users"]) <= {user}
