"""The command line's parser is built for the command named only, and parses the same."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pytest

from soarpack.cli.main import _COMMANDS, _command_named, build_parser


def _commands(parser: argparse.ArgumentParser) -> list[str]:
    [sub] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(sub.choices)


def test_the_command_table_names_every_command_in_help_order() -> None:
    assert _commands(build_parser()) == [name for names, _ in _COMMANDS for name in names]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        pytest.param(["invoke", "x"], "invoke", id="plain"),
        pytest.param(["--pack", "run", "invoke", "x"], "invoke", id="option-value-like-a-command"),
        pytest.param(["--debug", "--log-level", "INFO", "runs", "list"], "runs", id="flags-first"),
        pytest.param(["--config=c.yaml", "validate"], "validate", id="option-equals-value"),
        pytest.param(["invoke", "-h"], "invoke", id="command-help"),
        pytest.param(["--help"], None, id="help"),
        pytest.param([], None, id="nothing"),
        pytest.param(["--pa", "dir", "invoke"], None, id="abbreviated-option"),
        pytest.param(["invok", "x"], None, id="unknown-command"),
        pytest.param(["--", "invoke"], None, id="double-dash"),
    ],
)
def test_the_command_named(argv: list[str], named: str | None) -> None:
    assert _command_named(argv) == named


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["invoke", "netskope.alerts.list", "--input", "{}"], id="invoke"),
        pytest.param(["--pack", "p", "--debug", "actions", "list", "--json"], id="actions"),
        pytest.param(["run", "triage", "--input", "{}"], id="run"),
        pytest.param(["runs", "list"], id="runs-group"),
        pytest.param(["sandbox", "serve", "--port", "0"], id="sandbox"),
        pytest.param(["ingest", "netskope", "--type", "alert"], id="ingest"),
        pytest.param(["serve", "--port", "0"], id="serve"),
    ],
)
def test_the_partial_parser_parses_as_the_whole_one(argv: Sequence[str]) -> None:
    partial = build_parser(_command_named(argv))
    assert _commands(partial) != _commands(build_parser())  # something was left out
    assert vars(partial.parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_a_wrong_command_is_refused_with_every_choice(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser(_command_named(["invok"])).parse_args(["invok"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'invok'" in err and "'invoke'" in err and "'docs'" in err
