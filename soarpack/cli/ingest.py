"""`soarpack ingest netskope`: follow data-export iterators until stopped.

Records go to JSON Lines files (or stdout); progress goes to stderr, as a status
line on a terminal and JSON lines otherwise; the final summary is JSON on stdout
(stderr when records go to stdout). SIGINT/SIGTERM stop every stream after the page
it is working on is committed; a second signal interrupts at once (the page in
flight is then resent by the next run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from soarpack import errors, exitcodes
from soarpack.cli.common import local_engine

STREAM_SCHEMA = {"$ref": "netskope/v2.json#/$defs/stream"}
INDEX_SCHEMA = {"$ref": "netskope/v2.json#/$defs/index"}


def add_parser(sub: Any) -> None:
    ingest = sub.add_parser("ingest", help="follow vendor event streams into files").add_subparsers(
        dest="sub", required=True
    )
    p = ingest.add_parser(
        "netskope",
        help="Netskope REST v2 data-export iterators, checkpointed, exactly once",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--type",
        dest="streams",
        action="append",
        required=True,
        metavar="STREAM",
        help="events/<event_type> or alerts/<alert_type>, e.g. events/page; repeat for more",
    )
    p.add_argument("--sink", choices=["jsonl", "stdout"], default="jsonl")
    p.add_argument("--out", metavar="DIR", default="netskope-events", help="jsonl directory")
    p.add_argument("--rotate-mb", type=int, default=256, help="start a new file past this size")
    p.add_argument(
        "--state-dir",
        metavar="DIR",
        help="checkpoints and locks (default: $SOARPACK_STATE_DIR or ~/.local/state/soarpack)",
    )
    p.add_argument(
        "--index", help="iterator index (one stream only; default is unique to this installation)"
    )
    start = p.add_mutually_exclusive_group()
    start.add_argument(
        "--since", type=int, metavar="EPOCH", help="start here when there is no checkpoint"
    )
    start.add_argument(
        "--from",
        dest="start",
        choices=["head", "tail"],
        help="start at the oldest record or at now, when there is no checkpoint",
    )
    p.add_argument("--max-pages", type=int, metavar="N", help="stop each stream after N pages")
    p.add_argument(
        "--until-caught-up", action="store_true", help="stop each stream at its first short page"
    )
    p.add_argument(
        "--page-size",
        type=int,
        default=10_000,
        help="records in a full page (Netskope: 10,000; change only for a simulator)",
    )
    p.add_argument("--progress", choices=["auto", "tty", "json", "none"], default="auto")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from soarpack.config import state_dir
    from soarpack.ingest import Ingest, IngestOptions, JsonLinesSink, StdoutSink

    with local_engine(args) as engine:
        store = engine.pack.schemas
        problems = [
            errors.FieldError(f"/type/{i}", e.rule, f"{s!r}: {e.message}")
            for i, s in enumerate(args.streams)
            for e in store.errors(STREAM_SCHEMA, s)
        ]
        if args.index is not None:
            problems += [
                errors.FieldError("/index", e.rule, e.message)
                for e in store.errors(INDEX_SCHEMA, args.index)
            ]
        limits = (
            ("max_pages", args.max_pages),
            ("rotate_mb", args.rotate_mb),
            ("page_size", args.page_size),
        )
        for flag, value in limits:
            if value is not None and value < 1:
                problems.append(errors.FieldError(f"/{flag}", "minimum", "must be at least 1"))
        if problems:
            raise errors.InputError("ingest netskope", problems)
        if args.sink == "stdout":
            out = sys.stdout.buffer

            def sink_factory(stream: str) -> Any:
                return StdoutSink(out)
        else:
            directory, rotate = Path(args.out), args.rotate_mb * 1024 * 1024

            def sink_factory(stream: str) -> Any:
                return JsonLinesSink(directory, stream, rotate)

        progress = _progress(args.progress)
        job = Ingest(
            engine.session("netskope.dataexport.ingest"),
            IngestOptions(
                streams=args.streams,
                state_dir=state_dir(args.state_dir),
                sink_factory=sink_factory,
                index=args.index,
                start=args.since if args.since is not None else args.start,
                max_pages=args.max_pages,
                until_caught_up=args.until_caught_up,
                page_size=args.page_size,
            ),
            progress=progress,
        )
        previous = _stop_on_signals(job.stop)
        try:
            results = job.run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            finish = getattr(progress, "finish", None)
            if finish is not None:
                finish()
    summary = {
        "ok": all(r.error is None for r in results),
        "streams": [r.to_dict() for r in results],
    }
    target = sys.stderr if args.sink == "stdout" else sys.stdout
    target.write(json.dumps(summary, indent=2) + "\n")
    failed = [r.error for r in results if r.error is not None]
    return exitcodes.exit_code_for(failed[0]) if failed else exitcodes.OK


def _progress(choice: str) -> Any:
    from soarpack.ingest.progress import JsonLinesProgress, QuietProgress, TerminalProgress

    if choice == "auto":
        choice = "tty" if sys.stderr.isatty() else "json"
    return {"tty": TerminalProgress, "json": JsonLinesProgress, "none": QuietProgress}[choice]()


def _stop_on_signals(stop: Any) -> dict[int, Any]:
    def handler(signum: int, frame: FrameType | None) -> None:
        print(
            f"\nsoarpack: {signal.Signals(signum).name}: stopping after the pages in flight "
            "(again to interrupt now)",
            file=sys.stderr,
        )
        stop()
        signal.signal(signum, signal.default_int_handler)

    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Outside the main thread (embedded use) signals cannot be handled: skip.
        with contextlib.suppress(ValueError):
            previous[signum] = signal.signal(signum, handler)
    return previous
