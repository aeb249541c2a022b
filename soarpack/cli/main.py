"""`soarpack` command line: parse, dispatch, and render errors at the boundary.

The command table names each top-level command and what adds its parser; only the
parser of the command named is built, and a command's module is imported only then.
The global options, and the commands too small for a module of their own (`invoke`,
on the hot path, `sandbox serve` and `demo`), are here; the others have their own
modules (the table names them: actions.py, pack.py for validate, connections and
docs, playbooks.py, server.py, workers.py...).

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
from soarpack.cli.common import local_engine, print_json
from soarpack.errors import SoarpackError
from soarpack.lacework_edge.cli import add_parser as add_lacework_edge_parser
from soarpack.redact import RedactingFormatter

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


def _elsewhere(module: str, function: str) -> Callable[[Any], None]:
    """The parser-adding `function` of soarpack.cli.`module`, imported when called: a
    command's module is imported only when its parser is built."""

    def add(sub: Any) -> None:
        getattr(importlib.import_module(f"soarpack.cli.{module}"), function)(sub)

    return add


# Each top-level command and what adds its parser (some add a few), in help order.
_COMMANDS: tuple[tuple[tuple[str, ...], Callable[[Any], None]], ...] = (
    (("actions",), _elsewhere("actions", "add_parsers")),
    (("invoke",), _add_invoke),
    (("validate", "connections"), _elsewhere("pack", "add_parsers")),
    (("run", "approve", "runs"), _elsewhere("playbooks", "add_parsers")),
    (("worker", "redis"), _elsewhere("workers", "add_parsers")),
    (("serve", "server"), _elsewhere("server", "add_parsers")),
    (("ingest",), _elsewhere("ingest", "add_parser")),
    (("lacework-edge",), add_lacework_edge_parser),
    (("sandbox",), _add_sandbox),
    (("demo",), _add_demo),
    (("docs",), _elsewhere("pack", "add_docs_parser")),
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


if __name__ == "__main__":
    run()
