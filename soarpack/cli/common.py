"""What every command of the command line shares: the pack, the engine, JSON on stdout.

`main.py` and each command's module import this one, never each other, so a command's
module is imported only when its parser is built. Heavy modules are imported when a
function is called: every `soarpack` command imports this module.
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any, TextIO

from soarpack.redact import redact_data

if TYPE_CHECKING:
    from soarpack.engine import Engine
    from soarpack.pack import Pack


def load_pack(args: argparse.Namespace) -> Pack:
    """The pack `--pack` names (else $SOARPACK_PACK, else the bundled one)."""
    from soarpack.pack import Pack

    return Pack.load(args.pack)


def local_engine(args: argparse.Namespace) -> Engine:
    """An Engine in this process over the pack and the `--config` settings."""
    from soarpack.config import Config
    from soarpack.engine import Engine

    return Engine(load_pack(args), Config(args.config))


def print_json(data: Any, out: TextIO, compact: bool = False) -> None:
    """`data` as JSON on `out`, redacted: stdout is a boundary where data leaves us."""
    text = json.dumps(
        redact_data(data), indent=None if compact else 2, ensure_ascii=False, default=str
    )
    out.write(text + "\n")
