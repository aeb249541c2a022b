"""`soarpack` command line: parse, dispatch, and render errors at the boundary.

Results go to stdout as JSON; logs and human messages go to stderr. Our errors are
caught here, and only here, and rendered with their exit code (see soarpack/exitcodes.py);
no traceback reaches the user unless --debug.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from soarpack import __version__, exitcodes
from soarpack.cli.arguments import port
from soarpack.cli.common import load_pack, local_engine, print_json
from soarpack.errors import SoarpackError
from soarpack.lacework_edge.cli import add_parser as add_lacework_edge_parser
from soarpack.redact import RedactingFormatter, redact

log = logging.getLogger("soarpack.cli")
Command = Callable[[argparse.Namespace], int]


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with `command`, only that command's part is built.

    Building every command's parser cost a tenth of `soarpack invoke`'s start (argparse
    looks up translations for each), so `main` builds the one the arguments name.
    """
    epilog = "exit codes:\n" + "\n".join(
        f"  {c:>2}  {d}" for c, d in exitcodes.DESCRIPTIONS.items()
    )
    parser = argparse.ArgumentParser(
        prog="soarpack",
        description="Run manifest-declared SOAR actions against Netskope, MetaAccess and Lacework Edge.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"soarpack {__version__}")
    parser.add_argument(
        "--pack",
        metavar="DIR",
        help="pack directory (default: $SOARPACK_PACK, else the bundled pack)",
    )
    parser.add_argument(
        "--config", metavar="FILE", help="YAML settings file (default: $SOARPACK_CONFIG)"
    )
    parser.add_argument(
        "--log-level", default="WARNING", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    parser.add_argument("--debug", action="store_true", help="debug logs and tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for names, register in _COMMANDS:
        if command is None or command in names:
            register(sub)
    return parser


def _command_named(argv: Sequence[str]) -> str | None:
    """The command `argv` names, if it is one: the first word that is not an option or
    the value of one. When unsure (an abbreviated option, `--help`), None: every
    command's parser is built, which parses the same, only slower."""
    words = iter(argv)
    for word in words:
        if word in _GLOBAL_VALUE_OPTIONS:
            next(words, None)
        elif word == "--":
            return None
        elif not word.startswith("-"):
            return word if any(word in names for names, _ in _COMMANDS) else None
    return None


_GLOBAL_VALUE_OPTIONS = frozenset({"--pack", "--config", "--log-level"})


def _add_actions(sub: Any) -> None:
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


def _add_invoke(sub: Any) -> None:
    p = sub.add_parser("invoke", help="run one action; result JSON on stdout")
    p.add_argument("name")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--input", metavar="JSON", help="inputs as a JSON object")
    source.add_argument(
        "--input-file", metavar="FILE", help="inputs from a JSON file ('-' for stdin)"
    )
    p.add_argument("--compact", action="store_true", help="one-line JSON")
    p.set_defaults(run=_cmd_invoke)


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


def _add_sandbox(sub: Any) -> None:
    sandbox = sub.add_parser("sandbox", help="the simulated vendor APIs").add_subparsers(
        dest="sub", required=True
    )
    p = sandbox.add_parser("serve", help="serve the simulator on 127.0.0.1 until Ctrl-C")
    p.add_argument("--port", type=port, default=8765, help="0 picks a free port")
    p.add_argument(
        "--no-rate-limit",
        action="store_true",
        help="switch off the v2 4-requests/second limit (for benchmarks)",
    )
    p.add_argument(
        "--events-per-type",
        type=int,
        metavar="N",
        help="records in each v2 data-export stream (default 25,000)",
    )
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(run=_cmd_sandbox_serve)


def _add_demo(sub: Any) -> None:
    p = sub.add_parser(
        "demo", help="start the sandbox and run a cross-vendor playbook on it over HTTP"
    )
    p.set_defaults(run=_cmd_demo)


def _add_docs(sub: Any) -> None:
    docs = sub.add_parser("docs", help="generated documentation").add_subparsers(
        dest="sub", required=True
    )
    p = docs.add_parser(
        "readme", help="the README's generated blocks: action catalogue, exit codes"
    )
    p.add_argument("--write", metavar="README", help="replace the generated blocks in this file")
    p.set_defaults(run=_cmd_docs_readme)


def _elsewhere(module: str, function: str) -> Callable[[Any], None]:
    """The parser-adding `function` of soarpack.cli.`module`, imported when called: a
    command's module is imported only when its parser is built."""

    def add(sub: Any) -> None:
        getattr(importlib.import_module(f"soarpack.cli.{module}"), function)(sub)

    return add


# Each top-level command and what adds its parser (some add a few), in help order.
_COMMANDS: tuple[tuple[tuple[str, ...], Callable[[Any], None]], ...] = (
    (("actions",), _add_actions),
    (("invoke",), _add_invoke),
    (("validate",), _add_validate),
    (("connections",), _add_connections),
    (("run", "approve", "runs"), _elsewhere("playbooks", "add_parsers")),
    (("worker", "redis"), _elsewhere("workers", "add_parsers")),
    (("serve", "server"), _elsewhere("server", "add_parsers")),
    (("ingest",), _elsewhere("ingest", "add_parser")),
    (("lacework-edge",), add_lacework_edge_parser),
    (("sandbox",), _add_sandbox),
    (("demo",), _add_demo),
    (("docs",), _add_docs),
)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(_command_named(argv)).parse_args(argv)
    _setup_logging(args)
    command: Command = args.run
    try:
        return command(args)
    except SoarpackError as error:
        return _render_error(error, args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:  # the last boundary: a bug must not dump a traceback on users
        if args.debug:
            log.exception("internal error")
        else:
            print(
                "soarpack: internal error; run again with --debug and report it.", file=sys.stderr
            )
        return exitcodes.INTERNAL


def run() -> None:
    """The `soarpack` command: `main`, then exit with its code."""
    code = main()
    # The interpreter's last garbage collection walks every object the imports made:
    # about 40 ms of a short command's time on a small machine. Frozen objects are left
    # out of it. Nothing of ours waits for a collection: commands close their files,
    # clients and journals themselves, and exit handlers still run.
    gc.freeze()
    sys.exit(code)


# -- rendering ---------------------------------------------------------------------


def _setup_logging(args: argparse.Namespace) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("soarpack")
    root.handlers[:] = [handler]
    root.setLevel("DEBUG" if args.debug else args.log_level)
    root.propagate = False


def _render_error(error: SoarpackError, args: argparse.Namespace) -> int:
    code = exitcodes.exit_code_for(error)
    if args.debug:
        log.error("%s", error, exc_info=error)
    else:
        print(f"soarpack: {error}", file=sys.stderr)
    if args.command in ("invoke", "run") and getattr(args, "json", True):
        # Machine callers read stdout: give them the error as data too.
        print_json(
            {"ok": False, "exit_code": code, "error": error.to_dict()},
            sys.stdout,
            compact=getattr(args, "compact", False),
        )
    return code


# -- commands ----------------------------------------------------------------------


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


def _decode(raw: bytes, origin: str, action: str) -> str:
    from soarpack.errors import FieldError, InputError

    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            action,
            [FieldError("", "encoding", f"{origin} is not UTF-8 (bad byte at offset {exc.start})")],
        ) from None


def _read_inputs(args: argparse.Namespace) -> Any:
    from soarpack.errors import FieldError, InputError
    from soarpack.jsondata import decode_object

    if args.input is not None:
        text, origin = args.input, "--input"
    elif args.input_file == "-":
        # Only on request: SOAR platforms often spawn us with an open, never-closed stdin.
        text, origin = _decode(sys.stdin.buffer.read(), "stdin", args.name), "stdin"
    elif args.input_file:
        try:
            raw = Path(args.input_file).read_bytes()
        except OSError as exc:
            raise InputError(
                args.name,
                [FieldError("", "file", f"cannot read {args.input_file}: {exc.strerror}")],
            ) from None
        text, origin = _decode(raw, args.input_file, args.name), args.input_file
    else:
        return {}
    # The one strict decoder the server uses too: repeated keys, deep nesting and lone
    # surrogates are bad input here as there.
    return decode_object(text, args.name, origin)


def _cmd_invoke(args: argparse.Namespace) -> int:
    inputs = _read_inputs(args)
    with local_engine(args) as engine:
        result = engine.invoke(args.name, inputs)
    print_json(result.to_dict(), sys.stdout, compact=args.compact)
    return exitcodes.OK


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


def _cmd_sandbox_serve(args: argparse.Namespace) -> int:
    from soarpack.cli.demo import serve_sandbox

    return serve_sandbox(
        port=args.port,
        seed=args.seed,
        rate_limit=not args.no_rate_limit,
        events_per_type=args.events_per_type,
    )


def _cmd_demo(args: argparse.Namespace) -> int:
    from soarpack.cli.demo import run_demo

    return run_demo(pack_dir=args.pack)


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


if __name__ == "__main__":
    run()
