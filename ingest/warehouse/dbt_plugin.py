"""A dbt-duckdb plugin (see profiles/profiles.yml): what the warehouse needs on every dbt run.

- The writer lock (warehouse/writer.py): a dbt command that writes holds the warehouse's
  writer lock for its whole run, so it never collides with a load, the stream loop or
  another build on the embedded catalog; it waits, saying who holds it, while another
  writer runs.
- On a PostgreSQL catalog, the pipeline's schemas are created before dbt's threads start
  (warehouse/lake.py, ensure_schemas).
- `getvariable('student_hash_salt')` is the student hash salt (warehouse/student_hash_salt.py),
  bound as a parameter, so the secret never passes through dbt's Jinja, SQL or logs.
"""

from __future__ import annotations

import sys
from typing import IO, Any

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection

from ingest.settings import Settings
from ingest.warehouse.lake import ensure_schemas, location
from ingest.warehouse.student_hash_salt import salt_from_environment
from ingest.warehouse.writer import hold_for_this_process

# dbt commands that write the warehouse (every one runs the on-run-start hooks, which keep
# the salt's fingerprint); the others (ls, parse, compile, docs, show, debug) only read.
WRITING_COMMANDS = {"build", "run", "seed", "snapshot", "test", "run-operation", "retry", "clone"}


def _command(argv: list[str]) -> str | None:
    return next((word for word in argv[1:] if not word.startswith("-")), None)


class Plugin(BasePlugin):
    _writer_lock: IO[str] | None = None

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        if _command(sys.argv) in WRITING_COMMANDS:
            settings = Settings.from_env()
            Plugin._writer_lock = hold_for_this_process(settings, f"dbt {_command(sys.argv)}")
            if not location(settings).is_embedded:  # several threads write a shared catalog
                ensure_schemas(settings)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # dbt runs every statement on a cursor of the root connection, and each cursor is a
        # connection of its own with its own variables: the salt is bound on every one.
        cursor.execute("set variable student_hash_salt = ?", [salt_from_environment()])
