"""The checked manifest, kept between processes.

Parsing manifest.yaml (with PyYAML), decoding every schema file (one is 560 KB) and
checking the result were most of `soarpack invoke`'s own start-up. What a load
produces, the Manifest structs, is stored as MessagePack (msgspec) under the SHA-256
of everything it was built from: the engine's version, the manifest's text and every
schema file's bytes (`SchemaStore.fingerprint`). Any edit of any of them gives another
key, so the manifest is parsed and checked again; nothing is trusted by file time.

Only a load that passed every check is stored, and only if it survives the round trip
unchanged. The cache is an optimisation: when it cannot be read or written, the pack
is loaded as before, and `SOARPACK_CACHE_DIR=off` switches it off. The folder is
$SOARPACK_CACHE_DIR, else $XDG_CACHE_HOME/soarpack, else ~/.cache/soarpack.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from soarpack.version import __version__

CACHE_ENV = "SOARPACK_CACHE_DIR"
KEEP = 8  # manifests kept
T = TypeVar("T")
log = logging.getLogger("soarpack.pack")


def cache_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """Where parsed manifests are kept, or None when the cache is off."""
    env = os.environ if env is None else env
    chosen = env.get(CACHE_ENV)
    if chosen:
        return None if chosen == "off" else Path(chosen).expanduser()
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "soarpack"


def cached(
    source: str, build: Callable[[], T], kind: type[T], env: Mapping[str, str] | None = None
) -> T:
    """`build()`, from the cache when it was built before from this exact `source` (the
    text of everything the result depends on). `kind` is the result's type, for
    msgspec to decode it back to."""
    where = cache_dir(env)
    if where is None:
        return build()
    key = hashlib.sha256(f"{__version__}\0{source}".encode()).hexdigest()
    path = where / f"manifest-{key}.msgpack"
    try:
        return msgspec.msgpack.decode(path.read_bytes(), type=kind)
    except (OSError, msgspec.DecodeError):  # a ValidationError is a DecodeError
        pass  # not there yet, or unreadable: build and (try to) store
    value = build()
    _store(path, value, kind)
    return value


def _store(path: Path, value: Any, kind: type[Any]) -> None:
    try:
        blob = msgspec.msgpack.encode(value)
        if msgspec.msgpack.decode(blob, type=kind) != value:
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
    except (OSError, TypeError, msgspec.EncodeError, msgspec.DecodeError) as exc:
        log.debug("manifest cache not written (%s): %s", path.parent, exc)


def _prune(where: Path) -> None:
    """Keep the newest few: each edit of a manifest under development leaves one."""
    stored = sorted(where.glob("manifest-*.msgpack"), key=lambda p: p.stat().st_mtime_ns)
    for old in stored[:-KEEP]:
        old.unlink(missing_ok=True)
