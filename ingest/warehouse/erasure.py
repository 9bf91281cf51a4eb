"""`python -m ingest forget STUDENT_ID --reason TEXT`: the right to erasure.

In order, each step safe to run again if the one after it failed:
1. the raw zone (local or S3): each event file (and roster CSV) holding the student is
   rewritten without their records, atomically (a local file is replaced by rename, an S3
   object by one PUT); the local cache of S3 objects is deleted (it is only a cache);
2. the warehouse, in one transaction as its writer: every row of every table holding the
   id or the hash in a text column (raw.events by the id in its line, staging by id or
   hash, roster enrollments by id, every derived table by hash) is deleted, and the
   request is recorded in ops.erasures as a one-way digest of the hash, the time and the
   reason, which staging consults from then on (macros/erasures.sql);
3. the warehouse's history: data files still holding deleted rows are rewritten, every
   older snapshot is expired and the files only they used are deleted, so time travel
   can no longer reach the student (nor anything else older than this erasure); a SQLite
   catalog is vacuumed, so its free pages keep no copy either.

Aggregates without a student (chapter engagement counts) keep counting the student until
their dates are rebuilt; they hold neither the id nor the hash.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import shutil
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.errors import InputError
from ingest.files.raw_files import is_event_file
from ingest.settings import Settings
from ingest.warehouse.lake import ALIAS, connect, location, sql_literal
from ingest.warehouse.student_hash_salt import salt_from_environment
from ingest.warehouse.writer import warehouse_writer
from ingest.zone.raw_zone import open_raw_zone
from ingest.zone.raw_zone_cache import cache_dir

ERASURES_TABLE = "ops.erasures"


def student_hash(student_id: str) -> str:
    """The warehouse's hash of an id (macros/student_hash.sql)."""
    return hashlib.sha256(f"{salt_from_environment()}:{student_id}".encode()).hexdigest()


def erasure_digest(hash_: str) -> str:
    """What ops.erasures keeps of an erased student (macros/erasures.sql, erasure_digest)."""
    return hashlib.sha256(f"erasure:{hash_}".encode()).hexdigest()


@dataclass
class ErasureReport:
    raw_files_rewritten: list[str] = field(default_factory=list)
    raw_records_removed: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)
    snapshots_expired: int = 0
    files_deleted: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        tables = sum(1 for count in self.rows_deleted.values() if count)
        return (f"removed {self.raw_records_removed:,} raw records from {len(self.raw_files_rewritten):,} raw zone "
                f"files; deleted {sum(self.rows_deleted.values()):,} rows from {tables} tables; expired "
                f"{self.snapshots_expired:,} snapshots and deleted {self.files_deleted:,} files of history "
                f"in {self.seconds:.1f}s")


def _mentions(value: Any, student_id: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(item, student_id) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, student_id) for item in value)
    return value == student_id


def _without_json_lines(text: str, student_id: str) -> tuple[str, int]:
    kept, removed = [], 0
    for line in text.splitlines(keepends=True):
        try:
            mentions = _mentions(json.loads(line), student_id) if line.strip() else False
        except ValueError:
            mentions = f'"{student_id}"' in line
        if mentions:
            removed += 1
        else:
            kept.append(line)
    return "".join(kept), removed


def _without_json_array(text: str, student_id: str) -> tuple[str, int]:
    try:
        document = json.loads(text)
    except ValueError:
        return _without_json_lines(text, student_id)
    if not isinstance(document, list):
        return ("", 1) if _mentions(document, student_id) else (text, 0)
    kept = [item for item in document if not _mentions(item, student_id)]
    return (json.dumps(kept), len(document) - len(kept)) if len(kept) < len(document) else (text, 0)


def _without_csv_rows(text: str, student_id: str) -> tuple[str, int]:
    rows = list(csv.reader(io.StringIO(text)))
    kept = [row for row in rows if student_id not in row]
    if len(kept) == len(rows):
        return text, 0
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(kept)
    return out.getvalue(), len(rows) - len(kept)


def without_student(name: str, data: bytes, student_id: str) -> tuple[bytes, int]:
    """A raw file's bytes without the student's records, and how many were removed (0: unchanged)."""
    compressed = name.lower().endswith(".gz")
    text = (gzip.decompress(data) if compressed else data).decode("utf-8", errors="surrogateescape")
    if student_id not in text:
        return data, 0
    plain = name.lower().removesuffix(".gz")
    if plain.endswith(".csv"):
        kept, removed = _without_csv_rows(text, student_id)
    elif plain.endswith(".json"):
        kept, removed = _without_json_array(text, student_id)
    else:
        kept, removed = _without_json_lines(text, student_id)
    if not removed:
        return data, 0
    encoded = kept.encode("utf-8", errors="surrogateescape")
    return (gzip.compress(encoded, mtime=0) if compressed else encoded), removed


def erase_raw_zone(settings: Settings, student_id: str, report: ErasureReport) -> None:
    zone = open_raw_zone(settings.raw_zone_url)
    for key in zone.list(""):
        if not is_event_file(Path(key)):
            continue
        data = zone.read(key)
        rewritten, removed = without_student(key, data, student_id)
        if removed:
            zone.write_object(key, rewritten)  # atomic: a rename locally, one PUT on S3
            report.raw_files_rewritten.append(key)
            report.raw_records_removed += removed
    shutil.rmtree(cache_dir(settings), ignore_errors=True)


def _text_columns(connection: Any) -> dict[str, list[tuple[str, str]]]:
    rows = connection.execute(
        "select c.table_schema || '.' || c.table_name, c.column_name, c.data_type "
        "from information_schema.columns as c "
        "inner join information_schema.tables as t on c.table_catalog = t.table_catalog "
        "and c.table_schema = t.table_schema and c.table_name = t.table_name "
        f"where c.table_catalog = {sql_literal(ALIAS)} and t.table_type = 'BASE TABLE' "
        "and c.data_type in ('VARCHAR', 'JSON') order by 1, 2").fetchall()
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, []).append((column, data_type))
    return columns


def erase_warehouse(settings: Settings, student_id: str, reason: str, report: ErasureReport) -> None:
    hash_ = student_hash(student_id)
    quoted = json.dumps(student_id)
    with connect(settings) as connection:
        connection.execute(f"create schema if not exists {ALIAS}.ops")
        connection.execute(f"create table if not exists {ALIAS}.{ERASURES_TABLE} "
                           "(hash_digest varchar, erased_at timestamptz, reason varchar)")
        connection.execute("begin")
        for table, columns in _text_columns(connection).items():
            if table == ERASURES_TABLE:
                continue
            # A text column holding exactly the id or the hash; a raw line or JSON value holding
            # either as a JSON string anywhere.
            matches: list[str] = []
            params: list[str] = []
            for column, data_type in columns:
                if data_type == "JSON" or column == "raw_line":
                    text = f'cast("{column}" as varchar)'
                    matches.append(f"(contains({text}, ?) or contains({text}, ?))")
                    params += [quoted, json.dumps(hash_)]
                else:
                    matches.append(f'"{column}" in (?, ?)')
                    params += [student_id, hash_]
            row = connection.execute(f"delete from {table} where {' or '.join(matches)}", params).fetchone()
            report.rows_deleted[table] = int(row[0]) if row else 0
        connection.execute(f"insert into {ERASURES_TABLE} values (?, ?, ?)",
                           [erasure_digest(hash_), datetime.now(UTC), reason])
        connection.execute("commit")


def erase_history(settings: Settings, report: ErasureReport) -> None:
    lake = sql_literal(ALIAS)
    with connect(settings) as connection:
        connection.execute(f"call ducklake_flush_inlined_data({lake})")
        connection.execute(f"call ducklake_rewrite_data_files({lake}, delete_threshold => 0)")
        ids = [int(row[0]) for row in connection.execute(
            f"select snapshot_id from {ALIAS}.snapshots() order by 1").fetchall()]
        if len(ids) > 1:  # every snapshot but the current one
            report.snapshots_expired = len(connection.execute(
                f"call ducklake_expire_snapshots({lake}, versions => {ids[:-1]})").fetchall())
        report.files_deleted = len(connection.execute(
            f"call ducklake_cleanup_old_files({lake}, cleanup_all => true)").fetchall())
        report.files_deleted += len(connection.execute(
            f"call ducklake_delete_orphaned_files({lake}, cleanup_all => true)").fetchall())
    lake_location = location(settings)
    if lake_location.is_embedded:
        catalog = sqlite3.connect(lake_location.catalog.removeprefix("sqlite:"))
        try:
            catalog.execute("pragma wal_checkpoint(truncate)")
            catalog.execute("vacuum")
            catalog.execute("pragma wal_checkpoint(truncate)")
        finally:
            catalog.close()


def forget(settings: Settings, student_id: str, reason: str) -> ErasureReport:
    if not student_id.strip():
        raise InputError("give the LMS id of the student to erase, e.g. `python -m ingest forget s-0001234 "
                         "--reason 'request of 2026-01-05'`")
    if not reason.strip():
        raise InputError("give the reason of the erasure with --reason TEXT (it is recorded in ops.erasures)")
    started = time.monotonic()
    report = ErasureReport()
    erase_raw_zone(settings, student_id, report)
    with warehouse_writer(settings, "forget"):
        erase_warehouse(settings, student_id, reason, report)
        erase_history(settings, report)
    report.seconds = time.monotonic() - started
    return report
