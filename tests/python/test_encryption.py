"""Encryption at rest (WAREHOUSE_ENCRYPTED=true): the lake's data files are encrypted Parquet
(DuckLake's ENCRYPTED option, a key per file kept in the catalog), no rows are inlined in the
catalog, and the warehouse reads as usual through the lake."""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.load.loader import load_files
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import Settings
from ingest.warehouse.lake import connect


def sample_values(folder: Path) -> set[bytes]:
    """Values of the sample's events worth looking for on disk: event ids and student ids."""
    import gzip

    values: set[bytes] = set()
    for path in folder.rglob("*.jsonl.gz"):
        for line in gzip.decompress(path.read_bytes()).splitlines():
            event = json.loads(line)
            values |= {event["event_id"].encode(), event["student_id"].encode()}
    return values


@pytest.mark.parametrize("encrypted", [True, False])
def test_encrypted_data_files_hold_no_plaintext_event_data(tmp_path: Path, encrypted: bool) -> None:
    generate(GenerateConfig(students=5, days=1, start=date(2026, 1, 5), seed=3, out=tmp_path / "raw"), progress=False)
    settings = Settings(warehouse_path=tmp_path / "warehouse.sqlite", warehouse_encrypted=encrypted)
    load_files([str(tmp_path / "raw")], settings, show_progress=False)
    values = sample_values(tmp_path / "raw")
    assert values
    with connect(Settings(warehouse_path=settings.warehouse_path), read_only=True) as lake:  # no flag to read
        assert lake.execute("select count(*) from raw.events").fetchall()[0][0] > 0
    parquet = list(Path(f"{settings.warehouse_path}.files").rglob("*.parquet"))
    assert parquet
    on_disk = b"".join(path.read_bytes() for path in parquet)
    if not encrypted:  # the control: the same data in plain Parquet is readable, ids and all
        duckdb.sql(f"select * from read_parquet('{parquet[0]}')").fetchall()
        assert any(value in on_disk for value in values)
        return
    for path in parquet:
        with pytest.raises(duckdb.Error):
            duckdb.sql(f"select * from read_parquet('{path}')").fetchall()
    assert not any(value in on_disk for value in values)
    # The catalog keeps no row (nothing inlined); only DuckLake's min/max statistics of a column
    # hold values, in plaintext (the README says so: the catalog needs protecting on its own).
    with sqlite3.connect(settings.warehouse_path) as catalog_db:
        tables = [name for (name,) in catalog_db.execute("select name from sqlite_master where type = 'table'")]
        holding = {name for name in tables
                   if any(value.decode() in repr(catalog_db.execute(f'select * from "{name}"').fetchall())
                          for value in values)}
    assert holding <= {"ducklake_file_column_stats", "ducklake_table_column_stats"}, holding
