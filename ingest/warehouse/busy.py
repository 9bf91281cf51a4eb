"""Warehouse errors a person can act on: who is writing the warehouse, and what to do.

Writers of this project wait for each other through the writer lock (warehouse/writer.py)
and readers are never blocked. What is left is a writer that does not take the lock (an
analyst's read-write `ATTACH` in a `duckdb` shell, a copy of the project pointed at the same
catalog): the embedded catalog is then busy, and SQLite answers "database is locked" after
its busy timeout. dlt wraps that in an error about credentials and the internet
connection; this module digs it out and says what is going on and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from ingest.errors import InputError
from ingest.settings import Settings
from ingest.warehouse.lake import BUSY_TIMEOUT_MS, location
from ingest.warehouse.writer import writer_lock_path

BUSY_SIGNS = ("database is locked", "database table is locked")


def is_busy(error: BaseException) -> bool:
    """Whether the catalog was busy, anywhere in the error's chain."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if any(sign in str(cause) for sign in BUSY_SIGNS):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def busy_message(settings: Settings) -> str:
    lock = writer_lock_path(settings)
    holder = (lock.read_text().strip() if lock and lock.exists() else "") or "no writer of this project"
    if holder.startswith(f"pid {os.getpid()} "):
        holder = "this command"
    return (f"the warehouse catalog {location(settings).description} stayed locked by another writer for "
            f"{BUSY_TIMEOUT_MS // 1000} s. This project's writers (loads, dbt, the stream loop) wait for each other "
            f"through the writer lock {lock} (held now by: {holder}); something else is writing the catalog, such as "
            "a `duckdb` session that attached it without READ_ONLY. Let it finish or detach it, then run this "
            "again. To read while the pipeline writes, attach READ_ONLY (`python -m ingest query` does).")


@contextmanager
def explained_warehouse_errors(settings: Settings) -> Iterator[None]:
    """Turn "the catalog is locked" into an InputError saying what to do; other errors pass."""
    try:
        yield
    except InputError:
        raise
    except Exception as error:
        if not is_busy(error):
            raise
        raise InputError(busy_message(settings)) from None
