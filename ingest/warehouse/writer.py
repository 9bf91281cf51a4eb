"""The warehouse's writer rule: with the embedded catalog, one writer at a time.

A DuckLake whose catalog is a SQLite file takes one writing transaction at a time; a second
writer fails with "database is locked" at its commit. So every writer (a load, a dbt run,
the stream loop, `ingest maintain`) takes one project-level lock first, and waits, saying
who holds it, while another writer runs. Readers never take it: they read the last
committed snapshot while a writer works. With a PostgreSQL catalog, writers commit side by
side and no lock is taken.

A thread that holds the lock and starts a writer process of its own (a scheduler running a
load and a build as one step) passes `child_environment()` to it: the child then knows its
parent holds the lock (WAREHOUSE_WRITER_LOCK_HELD) and does not wait for it. The mark is
per thread, so another thread of the same process still waits its turn.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from ingest.locks import acquire, release
from ingest.settings import Settings
from ingest.warehouse.lake import location

HELD = "WAREHOUSE_WRITER_LOCK_HELD"
_held = threading.local()


def writer_lock_path(settings: Settings) -> Path | None:
    """The lock file beside the embedded catalog; None where writers need no lock."""
    if not location(settings).is_embedded:
        return None
    path = settings.warehouse_path.resolve()
    return path.with_name(f".{path.name}.writer.lock")


def _held_here(path: Path) -> bool:
    """This thread holds the lock, or this process was started by a holder for the purpose."""
    return getattr(_held, "path", None) == str(path) or os.environ.get(HELD) == str(path)


def child_environment(environ: dict[str, str]) -> dict[str, str]:
    """`environ` for a writer process this thread starts: marked when this thread holds the lock."""
    path = getattr(_held, "path", None)
    return {**environ, HELD: path} if path else {key: value for key, value in environ.items() if key != HELD}


@contextmanager
def warehouse_writer(settings: Settings, purpose: str) -> Iterator[None]:
    """Be the warehouse's one writer for the block (see child_environment for its children)."""
    path = writer_lock_path(settings)
    if path is None or _held_here(path):
        yield
        return
    handle = acquire(path, purpose)
    _held.path = str(path)
    try:
        yield
    finally:
        _held.path = None
        release(handle)


def hold_for_this_process(settings: Settings, purpose: str) -> IO[str] | None:
    """Take the writer lock until this process ends (dbt: the whole invocation is one writer)."""
    path = writer_lock_path(settings)
    if path is None or _held_here(path):
        return None
    return acquire(path, purpose)
