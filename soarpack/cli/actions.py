"""`soarpack actions list` and `soarpack actions describe`: the action catalogue."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from soarpack import exitcodes
from soarpack.cli.common import load_pack, print_json


def add_parsers(sub: Any) -> None:
    actions = sub.add_parser("actions", help="list and describe actions").add_subparsers(
        dest="sub", required=True
    )
    p = actions.add_parser("list", help="the action catalogue")
    p.add_argument("--json", action="store_true", help="full entries with schemas, as JSON")
    p.add_argument(
        "--accepts",
        metavar="TYPE",
        help="only actions with an input of this semantic type (e.g. email)",
    )
    p.add_argument(
        "--produces", metavar="TYPE", help="only actions with an output of this semantic type"
    )
    p.add_argument("--connection", metavar="NAME", help="only actions of this connection")
    p.set_defaults(run=_cmd_actions_list)
    p = actions.add_parser(
        "describe", help="inputs, outputs, side effect and an example of one action"
    )
    p.add_argument("name")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_cmd_actions_describe)


def _cmd_actions_list(args: argparse.Namespace) -> int:
    from soarpack import docs

    pack = load_pack(args)
    chosen = []
    for action in pack.actions.values():
        if args.connection and action.connection != args.connection:
            continue
        if args.accepts and args.accepts not in docs.accepts(pack, action):
            continue
        if args.produces and args.produces not in docs.produces(pack, action):
            continue
        chosen.append(action)
    if args.json:
        entries = [
            {
                "name": a.name,
                "title": a.title,
                "description": " ".join(a.description.split()),
                "connection": a.connection,
                "side_effect": a.side_effect,
                "accepts": docs.accepts(pack, a),
                "produces": docs.produces(pack, a),
                "input": a.input,
                "output": a.output,
                "examples": a.examples,
            }
            for a in chosen
        ]
        print_json(entries, sys.stdout)
        return exitcodes.OK
    width = max((len(a.name) for a in chosen), default=4)
    print(f"{'ACTION':<{width}}  {'EFFECT':<11}  TITLE")
    for a in chosen:
        print(f"{a.name:<{width}}  {a.side_effect:<11}  {a.title}")
    return exitcodes.OK


def _cmd_actions_describe(args: argparse.Namespace) -> int:
    from soarpack import docs
    from soarpack.manifest import to_data

    pack = load_pack(args)
    action = pack.action(args.name)
    if args.json:
        print_json(
            {
                **to_data(action),
                "accepts": docs.accepts(pack, action),
                "produces": docs.produces(pack, action),
                "inputs": docs.input_rows(pack, action),
                "rules": docs.rules(pack, action),
            },
            sys.stdout,
        )
    else:
        print(docs.describe_text(pack, action))
    return exitcodes.OK
