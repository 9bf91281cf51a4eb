"""The right to erasure: `python -m ingest forget` on a copy of the session's built warehouse
and raw zone, then a scan of every relation, snapshot, catalog and data file, and raw zone
file for the student's id and hash; every other student's rows are unchanged, and a raw
file that still holds the student never brings them back."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from warehouses import copy_warehouse

from ingest.settings import PROJECT_DIR, Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.erasure import erasure_digest, student_hash, without_student
from ingest.warehouse.lake import connect
from ingest.warehouse.student_hash_salt import salt_from_environment


def student_tables(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    """Every base table with a student_hash column -> its rows, sorted."""
    with connect(settings, read_only=True) as lake:
        tables = [name for (name,) in lake.execute(
            "select distinct c.table_schema || '.' || c.table_name from information_schema.columns as c "
            "inner join information_schema.tables as t using (table_catalog, table_schema, table_name) "
            "where c.table_catalog = 'lake' and c.column_name = 'student_hash' and t.table_type = 'BASE TABLE'"
        ).fetchall()]
        return {table: sorted(lake.execute(f"select * from {table}").fetchall(), key=repr) for table in tables}


def relations_text(settings: Settings) -> dict[str, str]:
    """Every table and view of the lake as text (views of staging hash with the salt, as dbt's connections do)."""
    with connect(settings, read_only=True) as lake:
        lake.execute("set variable student_hash_salt = ?", [salt_from_environment()])
        names = [name for (name,) in lake.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = 'lake'").fetchall()]
        return {name: repr(lake.execute(f"select * from {name}").fetchall()) for name in names}


def file_texts(folder: Path) -> dict[Path, bytes]:
    """Every file under folder as bytes, gzip files decompressed, Parquet files read."""
    texts: dict[Path, bytes] = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        elif path.suffix == ".parquet":
            data += repr(duckdb.sql(f"select * from read_parquet('{path}')").fetchall()).encode()
        texts[path] = data
    return texts


@pytest.fixture(scope="module")
def erased(built_warehouse: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("erasure")
    settings = Settings(warehouse_path=folder / "warehouse.sqlite", raw_zone_url=str(folder / "zone"))
    copy_warehouse(built_warehouse.warehouse_path, settings.warehouse_path)
    shutil.copytree(built_warehouse.warehouse_path.parent / "raw", folder / "zone")
    with connect(settings, read_only=True) as lake:
        student_id = lake.execute(
            "select min(e.student_id) from raw.stg_raw__events as e inner join raw.roster_enrollments as r "
            "on e.student_id = r.user_id").fetchall()[0][0]
    hash_ = student_hash(student_id)
    before = student_tables(settings)
    assert any(hash_ in repr(rows) for rows in before.values())
    assert any(student_id.encode() in data for data in file_texts(folder).values())
    done = subprocess.run([sys.executable, "-m", "ingest", "forget", student_id, "--reason", "parent request"],
                          cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, WAREHOUSE_PATH=str(settings.warehouse_path),
                                   RAW_ZONE_URL=settings.raw_zone_url))
    assert done.returncode == 0, done.stderr
    assert student_id not in done.stdout + done.stderr and hash_ not in done.stdout + done.stderr
    return {"settings": settings, "folder": folder, "id": student_id, "hash": hash_, "before": before}


def test_neither_id_nor_hash_remains_in_any_relation(erased: dict[str, Any]) -> None:
    for name, text in relations_text(erased["settings"]).items():
        assert erased["id"] not in text and erased["hash"] not in text, name


def test_neither_id_nor_hash_remains_in_any_file(erased: dict[str, Any]) -> None:
    """The catalog (and its WAL), every data file of the lake, every raw zone file, dlt's folder."""
    for path, data in file_texts(erased["folder"]).items():
        assert erased["id"].encode() not in data and erased["hash"].encode() not in data, path


def test_no_snapshot_before_the_erasure_remains(erased: dict[str, Any]) -> None:
    with connect(erased["settings"], read_only=True) as lake:
        assert lake.execute("select count(*) from lake.snapshots()").fetchone() == (1,)


def test_every_other_students_rows_are_unchanged(erased: dict[str, Any]) -> None:
    after = student_tables(erased["settings"])
    for table, rows in erased["before"].items():
        assert after[table] == [row for row in rows if erased["hash"] not in row], table


def test_the_erasure_is_recorded_as_a_digest_with_time_and_reason(erased: dict[str, Any]) -> None:
    with connect(erased["settings"], read_only=True) as lake:
        rows = lake.execute("select hash_digest, reason, erased_at is not null from ops.erasures").fetchall()
    assert rows == [(erasure_digest(erased["hash"]), "parent request", True)]


def test_a_raw_file_still_holding_the_student_never_brings_them_back(erased: dict[str, Any]) -> None:
    """A copy of an old file landed again (new event ids): the student's lines are dropped in staging,
    another student's line of the same file goes through."""
    settings, folder = erased["settings"], erased["folder"]
    with connect(settings, read_only=True) as lake:
        other = json.loads(lake.execute("select raw_line from raw.events limit 1").fetchall()[0][0])
    mine = {**other, "student_id": erased["id"], "event_id": "late-copy-of-erased-1"}
    lines = [mine, {**other, "event_id": "late-copy-of-other-1"}]
    late = folder / "late" / "resent.jsonl"
    late.parent.mkdir()
    late.write_text("".join(json.dumps(line) + "\n" for line in lines))
    from ingest.load.loader import load_files

    load_files([str(late.parent)], settings, show_progress=False)
    done = run_dbt(["run", "--quiet", "-s", "+events_cleaned"], settings, capture=True)
    assert done.returncode == 0, done.stdout[-3000:]
    with connect(settings, read_only=True) as lake:
        ids = {event_id for (event_id,) in lake.execute(
            "select event_id from silver.events_cleaned where event_id like 'late-copy%'").fetchall()}
        hashes = lake.execute("select count(*) from silver.events_cleaned where student_hash = ?",
                              [erased["hash"]]).fetchone()
    assert ids == {"late-copy-of-other-1"} and hashes == (0,)


@pytest.mark.parametrize("name,data,removed", [
    ("a.jsonl", b'{"student_id": "s-1"}\n{"student_id": "s-12"}\n', 1),
    ("a.json", b'[{"student_id": "s-1"}, {"student_id": "s-2"}]', 1),
    ("a.csv", b"event_id,student_id\ne1,s-1\ne2,s-2\n", 1),
    ("a.jsonl.gz", gzip.compress(b'{"student_id": "s-2", "metadata": {"friend": "s-1"}}\n', mtime=0), 1),
    ("a.jsonl", b'{"student_id": "s-12"}\n', 0),
])
def test_raw_files_lose_exactly_the_students_records(name: str, data: bytes, removed: int) -> None:
    rewritten, count = without_student(name, data, "s-1")
    assert count == removed
    text = gzip.decompress(rewritten) if name.endswith(".gz") else rewritten
    assert b'"s-1"' not in text and b",s-1\n" not in text
    if not removed:
        assert rewritten == data
