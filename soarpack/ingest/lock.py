"""One consumer per iterator index and stream on this machine: an exclusive lock file.

Netskope answers 409 when two consumers read the same index and stream at once, and
worse, two sequential consumers silently split the data between them. The lock is
taken with flock, so it is released by the kernel when the holder dies: a crash never
leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import re
from pathlib import Path
from types import TracebackType

from soarpack import errors


class StreamLock:
    def __init__(self, directory: Path, index: str, stream: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{index}--{stream}")
        self.path = directory / f"{safe}.lock"
        self.index, self.stream = index, stream
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise errors.ConfigError(
                f"Another ingest (pid {holder}) is already reading {self.stream} with index "
                f"{self.index!r}. Netskope allows one consumer per index and stream; stop it "
                f"first or use a different index. Lock file: {self.path}"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> StreamLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
