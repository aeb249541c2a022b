"""The installation id that makes default ingest indexes unique (the state directory
itself is config.state_dir).

A blank or shared index makes two consumers split one stream's data between them;
the default index is therefore `soarpack-<installation id>-<stream>`, with the id
generated once per state directory.
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

# What a dry run shows in place of an id that its real run would generate (it writes none).
NEW_ID_PLACEHOLDER = "<new-installation-id>"


def existing_installation_id(directory: Path) -> str | None:
    """The id of this state directory if one was written already; creates nothing."""
    try:
        found = (directory / "installation-id").read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return found if re.fullmatch(r"[0-9a-f]{12}", found) else None


def installation_id(directory: Path) -> str:
    """The id of this state directory, created on first use."""
    found = existing_installation_id(directory)
    if found is not None:
        return found
    path = directory / "installation-id"
    directory.mkdir(parents=True, exist_ok=True)
    new = secrets.token_hex(6)
    try:
        # O_EXCL: two first runs racing agree on whichever id was written first.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(new + "\n")
    return new


def default_index(directory: Path, stream: str, *, create: bool = True) -> str:
    """`soarpack-<installation id>-<stream>`. Without `create` (a dry run) nothing is
    written: a directory without an id yet shows NEW_ID_PLACEHOLDER in its place."""
    if create:
        ident = installation_id(directory)
    else:
        ident = existing_installation_id(directory) or NEW_ID_PLACEHOLDER
    return f"soarpack-{ident}-{stream.replace('/', '-')}"
