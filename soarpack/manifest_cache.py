"""The parsed manifest.yaml, kept between processes.

Importing PyYAML and parsing the manifest were a fifth of `soarpack invoke`'s start-up.
The parsed mapping is stored as MessagePack (msgspec), under the SHA-256 of the
manifest's text and the engine's version, in $SOARPACK_CACHE_DIR, else
$XDG_CACHE_HOME/soarpack, else ~/.cache/soarpack. A changed manifest has another hash,
so it is parsed again; nothing is trusted by file time.

Only a result that survives the round trip unchanged is stored (YAML can produce
values MessagePack would hand back as something else, such as dates). The cache is an
optimisation: when it cannot be read or written, the manifest is parsed as before, and
`SOARPACK_CACHE_DIR=off` switches it off. What is cached is what the YAML says, not a
verdict on it: the schema check runs on every load.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import msgspec

from soarpack import __version__

CACHE_ENV = "SOARPACK_CACHE_DIR"
KEEP = 8  # parsed manifests kept
log = logging.getLogger("soarpack.pack")


def cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """Where parsed manifests are kept, or None when the cache is off."""
    env = os.environ if env is None else env
    chosen = env.get(CACHE_ENV)
    if chosen:
        return None if chosen == "off" else Path(chosen).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "soarpack"


def parsed(text: str, parse: Callable[[str], Any], env: Mapping[str, str] | None = None) -> Any:
    """`parse(text)`, from the cache when this exact text was parsed before."""
    where = cache_dir(env)
    if where is None:
        return parse(text)
    key = hashlib.sha256(f"{__version__}\0{text}".encode()).hexdigest()
    path = where / f"manifest-{key}.msgpack"
    try:
        return msgspec.msgpack.decode(path.read_bytes())
    except (OSError, msgspec.DecodeError):
        pass  # not there yet, or unreadable: parse and (try to) store
    value = parse(text)
    _store(path, value)
    return value


def _store(path: Path, value: Any) -> None:
    try:
        blob = msgspec.msgpack.encode(value)
        if msgspec.msgpack.decode(blob) != value:
            return  # a value MessagePack does not give back as it was
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and renamed: a reader never sees half a file.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".manifest-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(blob)
            os.replace(temp, path)
        finally:
            Path(temp).unlink(missing_ok=True)
        _prune(path.parent)
    except (OSError, TypeError, msgspec.EncodeError) as exc:
        log.debug("manifest cache not written (%s): %s", path.parent, exc)


def _prune(where: Path) -> None:
    """Keep the newest few: each edit of a manifest under development leaves one."""
    stored = sorted(where.glob("manifest-*.msgpack"), key=lambda p: p.stat().st_mtime_ns)
    for old in stored[:-KEEP]:
        old.unlink(missing_ok=True)
