"""`soarpack lacework-edge bind-spec OPENAPI`: bind the generated actions to real paths."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from soarpack.errors import ConfigError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = sub.add_parser(
        "lacework-edge", help="Lacework Edge: bind the actions to the vendor's OpenAPI file"
    ).add_subparsers(dest="sub", required=True)
    p = group.add_parser(
        "bind-spec",
        help="match each action's operation summary in OPENAPI and store its real method and path",
        description=(
            "Reads the OpenAPI document offered for download on the vendor's API page, binds "
            "every Lacework Edge action to the operation with its summary, and writes the "
            "result to the config file's `bindings` section (the pack is not edited). Prints "
            "a JSON report; actions it could not bind keep their assumed path."
        ),
    )
    p.add_argument("openapi", type=Path, help="the vendor's OpenAPI file (JSON or YAML)")
    p.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    p.set_defaults(run=_cmd_bind_spec)


def _cmd_bind_spec(args: argparse.Namespace) -> int:
    from soarpack.config import CONFIG_ENV
    from soarpack.lacework_edge.bindspec import bind, read_openapi, write_bindings
    from soarpack.pack import Pack

    pack = Pack.load(args.pack)
    report = bind(pack, read_openapi(args.openapi))
    chosen = args.config or os.environ.get(CONFIG_ENV)
    if not report.bindings:
        raise ConfigError(
            f"No Lacework Edge action matched an operation summary in {args.openapi}.",
            hint="Is it the Lacework Edge API document? Its summaries are the API page's headings.",
        )
    out = report.to_dict()
    if not args.dry_run:
        if not chosen:
            raise ConfigError(
                "bind-spec stores the bindings in the config file, and none is set.",
                hint=f"Pass --config FILE (it is created if missing) or set {CONFIG_ENV}.",
            )
        write_bindings(Path(chosen).expanduser(), report.bindings)
        out["config"] = str(chosen)
    print(json.dumps(out, indent=2))
    if report.unbound:
        print(
            f"soarpack: {len(report.unbound)} action(s) not bound; they keep their assumed "
            "paths (see `unbound`).",
            file=sys.stderr,
        )
    return 0
