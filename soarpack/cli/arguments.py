"""Argument types shared by the CLI's commands."""

from __future__ import annotations

import argparse


def port(text: str) -> int:
    """A TCP port number; 0 asks the system for a free one."""
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"{number} is outside 0..65535")
    return number
