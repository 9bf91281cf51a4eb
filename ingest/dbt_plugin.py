"""A dbt-duckdb plugin (see profiles/profiles.yml) giving SQL what DuckDB lacks.

`ensure_directory(path)` creates a folder and its parents: DuckDB's COPY ... PARTITION_BY
creates the table folder of the lake but not its parents, so the lake export calls this
first and works for any LAKE_PATH.
"""

from __future__ import annotations

from pathlib import Path

from dbt.adapters.duckdb.plugins import BasePlugin
from duckdb import DuckDBPyConnection
from duckdb.sqltypes import BOOLEAN, VARCHAR


def ensure_directory(path: str) -> bool:
    Path(path).mkdir(parents=True, exist_ok=True)
    return True


class Plugin(BasePlugin):
    def configure_connection(self, conn: DuckDBPyConnection) -> None:
        conn.create_function("ensure_directory", ensure_directory, [VARCHAR], BOOLEAN, side_effects=True)
