"""`soarpack run`, `approve`, `runs` and `validate PLAYBOOK`: playbooks from the shell.

Results go to stdout (a summary, or JSON with --json); the live step view goes to
stderr. The exit code is the run's: 0 succeeded, 10 waiting for an approval, 11 in
doubt, 12 approval rejected or timed out, else the failing step's error code.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from soarpack import exitcodes
from soarpack.cli import workers as workers_cli
from soarpack.errors import FieldError, InputError, shortened
from soarpack.redact import redact, redact_data

_MARKS = {
    "succeeded": "ok",
    "failed": "FAILED",
    "retrying": "retry",
    "skipped": "skipped",
    "cancelled": "cancelled",
    "planned": "dry-run",
    "approval_requested": "WAITING",
    "approved": "approved",
    "rejected": "REJECTED",
    "in_doubt": "IN DOUBT",
    "verified_done": "verified",
    "verified_absent": "not applied; resending",
    "marked_done": "marked done",
    "interrupted": "interrupted; running again",
}


def add_parsers(sub: Any) -> None:
    p = sub.add_parser(
        "run", help="run a playbook (or --resume one); exit 10 = waiting for approval"
    )
    p.add_argument("playbook", nargs="?", help="a playbook name (playbooks/NAME.yaml) or a file")
    p.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one playbook input (repeatable); VALUE is JSON unless the input is a string",
    )
    p.add_argument("--input-file", metavar="FILE", help="inputs as a JSON object")
    p.add_argument(
        "--dry-run", action="store_true", help="run reads; record, but do not send, changes"
    )
    p.add_argument(
        "--resume", metavar="RUN", help="go on with a waiting, in-doubt or interrupted run"
    )
    p.add_argument(
        "--retry-in-doubt",
        action="append",
        default=[],
        metavar="STEP",
        help="with --resume: send this in-doubt step again (repeatable)",
    )
    p.add_argument(
        "--mark-done",
        action="append",
        default=[],
        metavar="STEP",
        help="with --resume: this in-doubt step did reach the tenant (you checked): "
        "count it as done, never resend it (repeatable; needs --by and --reason)",
    )
    p.add_argument("--by", metavar="NAME", help="with --mark-done: who checked (recorded)")
    p.add_argument("--reason", metavar="TEXT", help="with --mark-done: what they found")
    p.add_argument(
        "--runs-dir",
        metavar="DIR",
        help="journals (default: $SOARPACK_RUNS_DIR or <state dir>/runs)",
    )
    p.add_argument("--json", action="store_true", help="the result as JSON on stdout")
    p.add_argument("--quiet", action="store_true", help="no live step view on stderr")
    workers_cli.add_run_options(p)
    p.set_defaults(run=_cmd_run)

    p = sub.add_parser("approve", help="approve (or --reject) a step a run waits on")
    p.add_argument("run_id", metavar="RUN")
    p.add_argument("step")
    p.add_argument("--by", required=True, metavar="NAME", help="who decides (recorded)")
    p.add_argument("--reject", action="store_true")
    p.add_argument("--reason", metavar="TEXT")
    p.add_argument("--runs-dir", metavar="DIR")
    p.set_defaults(run=_cmd_approve)

    runs = sub.add_parser("runs", help="playbook runs and their journals").add_subparsers(
        dest="sub", required=True
    )
    p = runs.add_parser("list", help="every run, newest first")
    p.add_argument("--runs-dir", metavar="DIR")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_cmd_runs_list)
    p = runs.add_parser("show", help="one run: steps, decisions and its journal")
    p.add_argument("run_id", metavar="RUN")
    p.add_argument("--runs-dir", metavar="DIR")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=_cmd_runs_show)


def validate_playbooks(args: argparse.Namespace, pack: Any) -> int:
    """`soarpack validate PLAYBOOK...`: every problem with file, line and step."""
    from soarpack.playbook.validate import validate_playbook

    found = [p for name in args.playbooks for p in validate_playbook(name, pack)]
    problems = [p for p in found if p.level != "warning"]
    warnings = [p for p in found if p.level == "warning"]
    if args.json:
        print(
            json.dumps(
                {
                    "ok": not problems,
                    "problems": [p.__dict__ for p in problems],
                    "warnings": [p.__dict__ for p in warnings],
                },
                indent=2,
            )
        )
    else:
        for problem in found:
            print(redact(str(problem)))
        if not problems:
            print(f"{len(args.playbooks)} playbook(s) valid")
    return exitcodes.CONFIG if problems else exitcodes.OK


def shipped_playbook_problems(pack: Any) -> list[tuple[str, str]]:
    """The pack's own playbooks are part of the pack: `soarpack validate` checks them."""
    from soarpack.playbook.validate import validate_playbook

    found = []
    for path in sorted((pack.root / "playbooks").glob("*.yaml")):
        for problem in validate_playbook(path, pack):
            if problem.level == "warning":
                continue  # shown by `soarpack validate PLAYBOOK`; the tests keep ours at none
            where = f"{problem.file}:{problem.line}"
            found.append((where, f"{problem.step + ': ' if problem.step else ''}{problem.message}"))
    return found


def _cmd_run(args: argparse.Namespace) -> int:
    from soarpack.playbook.session import resume_run, run_playbook

    live = None if args.quiet else LiveView(sys.stderr)
    with workers_cli.engine_for_run(args) as engine:
        if args.resume:
            if args.playbook or args.input or args.input_file or args.dry_run:
                raise InputError(
                    "run --resume",
                    [
                        FieldError(
                            "",
                            "usage",
                            "--resume takes no playbook, inputs or --dry-run: the run has them",
                        )
                    ],
                )
            result = resume_run(
                args.resume,
                engine=engine,
                runs_dir_path=args.runs_dir,
                retry_in_doubt=args.retry_in_doubt,
                mark_done=args.mark_done,
                by=args.by,
                reason=args.reason,
                on_event=live,
            )
        else:
            if args.mark_done or args.retry_in_doubt:
                raise InputError(
                    "run",
                    [FieldError("", "usage", "--mark-done and --retry-in-doubt need --resume RUN")],
                )
            if not args.playbook:
                raise InputError(
                    "run", [FieldError("", "usage", "name a playbook, or --resume RUN")]
                )
            inputs = _inputs(args, engine.pack)
            result = run_playbook(
                args.playbook,
                inputs,
                engine=engine,
                runs_dir_path=args.runs_dir,
                dry_run=args.dry_run,
                on_event=live,
            )
    if args.json:
        print(json.dumps(redact_data(result.to_dict()), indent=2, ensure_ascii=False, default=str))
    else:
        _print_result(result.to_dict(), sys.stdout)
    if result.error is not None and not args.json:
        print(f"soarpack: {result.error}", file=sys.stderr)
    return int(result.exit_code)


def _cmd_approve(args: argparse.Namespace) -> int:
    from soarpack.playbook.session import approve

    event = approve(
        args.run_id,
        args.step,
        by=args.by,
        approved=not args.reject,
        reason=args.reason,
        runs_dir_path=args.runs_dir,
    )
    said = f"{args.step} {event['ev']} by {event.get('by')}"
    if event.get("already_recorded"):
        said += f" (already recorded at {event.get('t')}; nothing added)"
    print(f"{said}; continue with: soarpack run --resume {args.run_id}")
    return exitcodes.OK


def _cmd_runs_list(args: argparse.Namespace) -> int:
    from soarpack.playbook.history import list_runs

    runs = list_runs(args.runs_dir)
    if args.json:
        print(json.dumps(runs, indent=2, default=str))
        return exitcodes.OK
    print(f"{'RUN':<24}  {'STATUS':<11}  {'PLAYBOOK':<36}  STARTED")
    for run in runs:
        print(
            f"{run['run_id']:<24}  {run['status']:<11}  {run['playbook'] or '?':<36}  {run['started_at']}"
        )
        if "resume" in run:
            print(f"{'':<24}  resume with: {run['resume']}")
    return exitcodes.OK


def _cmd_runs_show(args: argparse.Namespace) -> int:
    from soarpack.playbook.history import show_run

    shown = show_run(args.run_id, args.runs_dir)
    if args.json:
        print(json.dumps(redact_data(shown), indent=2, default=str, ensure_ascii=False))
        return exitcodes.OK
    print(
        f"run {shown['run_id']}: {shown['playbook']} {shown['status']} (started {shown['started_at']})"
    )
    if "resume" in shown:
        print(f"resume with: {shown['resume']}")
    for key, step in shown["steps"].items():
        detail = step.get("error", {}).get("message") if step.get("error") else ""
        print(f"  {key:<32} {step['last_event']:<20} {redact(str(detail or ''))}")
    return exitcodes.OK


def _inputs(args: argparse.Namespace, pack: Any) -> dict[str, Any]:
    """--input-file, then each --input KEY=VALUE on top (typed by the playbook's schema)."""
    from soarpack.jsondata import decode_object
    from soarpack.playbook.model import read_source
    from soarpack.playbook.validate import find_playbook

    inputs: dict[str, Any] = {}
    if args.input_file:
        try:
            text = Path(args.input_file).read_text(encoding="utf-8")
        except (OSError, ValueError) as exc:
            raise InputError(
                "run", [FieldError("", "file", f"cannot read {args.input_file}: {exc}")]
            ) from None
        inputs.update(decode_object(text, "run", args.input_file))
    # Only the input schema is needed here; run_playbook checks the whole playbook.
    declared = read_source(find_playbook(args.playbook, pack)).data.get("inputs") or {}
    properties = declared.get("properties") or {}
    for pair in args.input:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise InputError(
                "run",
                [
                    FieldError(
                        f"/{key}", "usage", f"--input {shortened(repr(pair))} is not KEY=VALUE"
                    )
                ],
            )
        inputs[key] = _typed(key, text, properties.get(key) or {})
    return inputs


def _typed(key: str, text: str, schema: dict[str, Any]) -> Any:
    """The value of `--input KEY=TEXT`: JSON when it is JSON, else the text itself."""
    from soarpack.jsondata import loads, pointer

    if schema.get("type") == "string":
        return text
    try:
        value, problems = loads(text)
    except ValueError:
        return text
    if problems:
        name = pointer(key)
        raise InputError("run", [FieldError(name + p.pointer, p.rule, p.message) for p in problems])
    return value


class LiveView:
    """One line per step event on stderr, as the run goes."""

    def __init__(self, out: TextIO, indent: str = "") -> None:
        self.out = out
        self.indent = indent

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["ev"]
        if kind == "run_started":
            dry = " (dry run)" if event.get("dry_run") else ""
            self.out.write(f"{self.indent}run {event['run_id']}: {event['playbook']}{dry}\n")
        elif kind == "started" and event.get("attempt", 1) == 1:
            target = event.get("action") or event.get("playbook")
            self.out.write(f"{self.indent}  -> {_where(event)}  {target}\n")
        elif kind in _MARKS and "step" in event:
            extra = ""
            if kind in ("failed", "retrying", "rejected") and event.get("error"):
                extra = f"  {event['error'].get('message', '')}"
            if kind == "retrying":
                extra += f" (waiting {event.get('wait')} s)"
            if kind == "approval_requested":
                extra = f"  {event.get('prompt')}"
            if kind == "succeeded" and event.get("ms") is not None:
                extra = f"  {event['ms']:.0f} ms"
            self.out.write(
                redact(f"{self.indent}  {_MARKS[kind]:<9} {_where(event)}{extra}") + "\n"
            )
        self.out.flush()


def _where(event: dict[str, Any]) -> str:
    step = str(event.get("step"))
    return step if event.get("item") is None else f"{step}[{event['item']}]"


def _print_result(result: dict[str, Any], out: TextIO) -> None:
    out.write(f"run {result['run_id']} {result['status']}\n")
    failed = result.get("failed_step")
    if failed:
        out.write(redact(f"failed at step {failed.get('step')}: {failed.get('message')}") + "\n")
    for waiting in result.get("waiting", []):
        out.write(f"waiting for approval: {waiting['step']}: {waiting['prompt']}\n")
        out.write(f"  approve: {waiting['approve']}   (or --reject --reason TEXT)\n")
        out.write(f"  then:    soarpack run --resume {result['run_id']}\n")
    for change in result.get("changes", []):
        request = change.get("request") or {}
        out.write(f"would send: {change['step']}: {request.get('method')} {request.get('url')}\n")
    if result.get("outputs"):
        out.write(
            json.dumps(redact_data(result["outputs"]), indent=2, ensure_ascii=False, default=str)
            + "\n"
        )
