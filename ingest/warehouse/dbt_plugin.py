"""A dbt-duckdb plugin (see profiles/profiles.yml) giving SQL what DuckDB lacks.

`ensure_directory(path)` creates a folder and its parents: DuckDB's COPY ... PARTITION_BY
creates the table folder of the lake but not its parents, so the lake export calls this
first and works for any LAKE_PATH.

`getvariable('student_hash_salt')` is the student hash salt (ingest/warehouse/student_hash_salt.py),
bound as a parameter, so the secret never passes through dbt's Jinja, SQL or logs.
"""

from __future__ import annotations

from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import BOOLEAN, VARCHAR

from ingest.warehouse.student_hash_salt import salt_from_environment


def ensure_directory(path: str) -> bool:
    Path(path).mkdir(parents=True, exist_ok=True)
    return True


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.create_function("ensure_directory", ensure_directory, [VARCHAR], BOOLEAN, side_effects=True)

    def configure_cursor(self, cursor: DuckDBPyConnection) -> None:
        # dbt runs every statement on a cursor of the root connection, and each cursor is a
        # connection of its own with its own variables: the salt is bound on every one.
        cursor.execute("set variable student_hash_salt = ?", [salt_from_environment()])
