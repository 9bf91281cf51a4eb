"""Warehouse errors a person can act on: which process holds the warehouse, and what to do.

DuckDB lets one process write a database file. When another holds it, DuckDB says
"Could not set lock ... (PID n)" and dlt wraps that in an error that talks about
credentials and the internet connection; this module digs out the lock, names the
process that holds it and says what to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.errors import InputError
from ingest.settings import Settings

LOCK_HOLDER = re.compile(r"Could not set lock on file .*?\(PID (\d+)\)", re.DOTALL)


def _command_line(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = raw.replace(b"\0", b" ").decode(errors="replace").split()
    return " ".join(words)[:200] or None


def lock_holder(error: BaseException) -> int | None:
    """The PID DuckDB names as the holder of the lock, anywhere in the error's chain."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        match = LOCK_HOLDER.search(str(cause))
        if match:
            return int(match.group(1))
        cause = cause.__cause__ or cause.__context__
    return None


def warehouse_busy_message(settings: Settings, pid: int) -> str:
    command = _command_line(pid)
    holder = f"process {pid} ({command})" if command else f"process {pid}"
    return (f"the warehouse {settings.warehouse_path} is in use by {holder}, and while one process writes a "
            "DuckDB file no other process can open it. Wait for that process to finish (a dbt build, a load, "
            f"the stream loop or an open `duckdb` session), or stop it (`kill {pid}`), then run this again.")


@contextmanager
def explained_warehouse_errors(settings: Settings) -> Iterator[None]:
    """Turn "the warehouse is locked" into an InputError naming the holder; other errors pass."""
    try:
        yield
    except InputError:
        raise
    except Exception as error:
        pid = lock_holder(error)
        if pid is None:
            raise
        raise InputError(warehouse_busy_message(settings, pid)) from None
