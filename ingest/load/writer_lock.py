"""One loader at a time per warehouse, and a message naming the holder while others wait.

The loader's recovery (see loader.py) discards whatever an earlier, killed run left in dlt's
working folder; that is only safe when no other loader is using it. The lock is an
advisory `flock` on a file beside the warehouse: the kernel releases it when its holder
exits, even by SIGKILL, so a crash never leaves a stale lock behind. The file holds the
holder's PID and command, for the message.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.output import say

POLL_SECONDS = 0.5


def _describe_holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return text or "another process"


@contextmanager
def exclusive(path: Path, purpose: str) -> Iterator[None]:
    """Hold the lock at `path` for the block; wait (saying who holds it) while another process does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        told = False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    say(purpose, f"waiting for {_describe_holder(path)} to finish (lock {path})")
                    told = True
                time.sleep(POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} ({' '.join(sys.argv) or sys.executable}) since "
                     f"{time.strftime('%Y-%m-%dT%H:%M:%S%z')}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)
