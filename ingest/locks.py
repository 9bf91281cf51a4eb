"""Locks between processes, and a message naming the holder while others wait.

Two are used: the loader's own (its recovery discards what a killed run left in dlt's
working folder, safe only when no other loader uses it) and the warehouse's writer lock
(an embedded DuckLake catalog takes one writer at a time; see warehouse/writer.py). Each is
an advisory `flock` on a file: the kernel releases it when its holder exits, even by
SIGKILL, so a crash never leaves a stale lock behind. The file holds the holder's PID and
command, for the message.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ingest.output import say

POLL_SECONDS = 0.5


def _describe_holder(path: Path) -> str:
    try:
        text = path.read_text().strip()
    except OSError:
        text = ""
    return text or "another process"


def acquire(path: Path, purpose: str) -> IO[str]:
    """Take the lock at `path`, waiting (and saying who holds it) while another process does.

    The lock is held as long as the returned file is open: close it to release, or let the
    process end."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - the open file is the lock; the caller closes it
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
    return handle


def release(handle: IO[str]) -> None:
    handle.seek(0)
    handle.truncate()
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()


@contextmanager
def exclusive(path: Path, purpose: str) -> Iterator[None]:
    """Hold the lock at `path` for the block (see `acquire`)."""
    handle = acquire(path, purpose)
    try:
        yield
    finally:
        release(handle)
