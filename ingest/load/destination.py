"""dlt's DuckLake destination, with every snapshot a load commits saying which load it was.

DuckLake records a snapshot for each committed transaction and lets the transaction name
itself (`set_commit_message`). dlt commits one transaction per file it loads and one for
its `_dlt_loads` row; this destination runs each of them with the message
`load <load id>: <table>`, so `python -m ingest snapshots` tells a load's snapshots apart
from a dbt run's.
"""

from __future__ import annotations

from typing import Any

from dlt.destinations import ducklake
from dlt.destinations.impl.ducklake.ducklake import DuckLakeClient, DuckLakeCopyJob

from ingest.warehouse.lake import ALIAS, sql_literal

AUTHOR = "ingest load"


def _tag(client: DuckLakeClient, message: str) -> None:
    client.sql_client.execute_sql(f"call {ALIAS}.set_commit_message({sql_literal(AUTHOR)}, {sql_literal(message)})")


class _TaggedCopyJob(DuckLakeCopyJob):
    def run(self) -> None:
        client = self._job_client
        with client.sql_client.begin_transaction():
            _tag(client, f"load {self._load_id}: {self.load_table_name}")
            super().run()


class _TaggedDuckLakeClient(DuckLakeClient):
    def create_load_job(self, table: Any, file_path: str, load_id: str, restore: bool = False) -> Any:
        job = super().create_load_job(table, file_path, load_id, restore)
        return _TaggedCopyJob(file_path) if type(job) is DuckLakeCopyJob else job

    def complete_load(self, load_id: str) -> None:
        with self.sql_client.begin_transaction():
            _tag(self, f"load {load_id}: committed")
            super().complete_load(load_id)


class tagged_ducklake(ducklake):  # noqa: N801 - dlt names its destination factories in lower case
    @property
    def client_class(self) -> type[DuckLakeClient]:
        return _TaggedDuckLakeClient
