"""The commands about the pack itself: `soarpack validate` (the pack, or playbooks),
`soarpack connections list|test`, and `soarpack docs readme` (the README's generated
blocks)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from soarpack import exitcodes
from soarpack.cli.common import load_pack, local_engine, print_json
from soarpack.redact import redact


def add_parsers(sub: Any) -> None:
    _add_validate(sub)
    _add_connections(sub)


def _add_validate(sub: Any) -> None:
    p = sub.add_parser(
        "validate",
        help="check the pack (manifest, schemas, handlers, refs, tests), or the playbooks named",
    )
    p.add_argument("playbooks", nargs="*", metavar="PLAYBOOK", help="playbook names or files")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_cmd_validate)


def _add_connections(sub: Any) -> None:
    conns = sub.add_parser("connections", help="list and test connections").add_subparsers(
        dest="sub", required=True
    )
    p = conns.add_parser("list", help="connections and their settings (secrets hidden)")
    p.set_defaults(run=_cmd_connections_list)
    p = conns.add_parser("test", help="the connection's cheapest authenticated read")
    p.add_argument("name")
    p.set_defaults(run=_cmd_connections_test)


def add_docs_parser(sub: Any) -> None:
    docs = sub.add_parser("docs", help="generated documentation").add_subparsers(
        dest="sub", required=True
    )
    p = docs.add_parser(
        "readme", help="the README's generated blocks: action catalogue, exit codes"
    )
    p.add_argument("--write", metavar="README", help="replace the generated blocks in this file")
    p.set_defaults(run=_cmd_docs_readme)


def _cmd_validate(args: argparse.Namespace) -> int:
    from soarpack.checks import pack_problems
    from soarpack.cli import playbooks as playbooks_cli
    from soarpack.errors import PackError

    if args.playbooks:
        return playbooks_cli.validate_playbooks(args, load_pack(args))
    try:
        pack = load_pack(args)
        tests_dir = pack.root / "tests"
        problems = pack_problems(pack, tests_dir if tests_dir.is_dir() else None)
        problems += playbooks_cli.shipped_playbook_problems(pack)
        note = (
            ""
            if tests_dir.is_dir()
            else " (no tests/ beside the pack: the per-action test check was skipped)"
        )
    except PackError as exc:
        problems, note = exc.problems, ""
    if args.json:
        print_json(
            {"ok": not problems, "problems": [{"where": w, "problem": p} for w, p in problems]},
            sys.stdout,
        )
    else:
        for where, what in problems:
            print(f"{where}: {what}")
        if not problems:
            print(f"pack is valid{note}")
    return exitcodes.CONFIG if problems else exitcodes.OK


def _cmd_connections_list(args: argparse.Namespace) -> int:
    pack = load_pack(args)
    for conn in pack.connections.values():
        print(f"{conn.name}: {conn.title} (test: {conn.test_action})")
    return exitcodes.OK


def _cmd_connections_test(args: argparse.Namespace) -> int:
    from soarpack.connectivity import check_connection

    with local_engine(args) as engine:
        report = check_connection(engine, args.name)
    mark = "ok" if report.ok else "FAILED"
    print(redact(f"{args.name}: {mark}: {report.detail}"))
    return exitcodes.OK if report.ok else report.exit_code


def _cmd_docs_readme(args: argparse.Namespace) -> int:
    from soarpack import readme

    pack = load_pack(args)
    if not args.write:
        print("\n\n".join(content for _, _, content in readme.generated_blocks(pack)))
        return exitcodes.OK
    path = Path(args.write)
    path.write_text(readme.update_readme(path.read_text(encoding="utf-8"), pack), encoding="utf-8")
    print(f"generated blocks written to {path}", file=sys.stderr)
    return exitcodes.OK
