"""`python -m ingest maintain`: keep the lake small and its history bounded.

In order: small inserts kept in the catalog (DuckLake's data inlining) are written out as
Parquet; adjacent small files of a table are merged into larger ones (hourly loads and
builds leave many); snapshots older than the retention are expired; the files only those
snapshots used are deleted; files the catalog does not know (left by a crashed writer) and
older than the retention are deleted. Time travel (`ingest query --at`) reaches back as far
as the retention. Maintenance is a writer: it takes the warehouse's writer lock.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ingest.settings import Settings
from ingest.warehouse.lake import ALIAS, connect, sql_literal
from ingest.warehouse.writer import warehouse_writer


@dataclass
class MaintenanceReport:
    rows_flushed: int = 0
    files_merged: int = 0
    files_written: int = 0
    snapshots_expired: int = 0
    files_deleted: int = 0
    orphans_deleted: int = 0
    snapshots_left: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (f"flushed {self.rows_flushed:,} inlined rows; merged {self.files_merged:,} small files into "
                f"{self.files_written:,}; expired {self.snapshots_expired:,} snapshots "
                f"({self.snapshots_left:,} kept); deleted {self.files_deleted:,} unreferenced and "
                f"{self.orphans_deleted:,} orphaned files in {self.seconds:.1f}s")


def maintain(settings: Settings, retention_days: float) -> MaintenanceReport:
    started = time.monotonic()
    report = MaintenanceReport()
    cutoff = f"now() - to_microseconds({int(retention_days * 86_400 * 1_000_000)})"
    lake = sql_literal(ALIAS)
    with warehouse_writer(settings, "maintain"), connect(settings) as connection:
        def call(sql: str) -> list[tuple[Any, ...]]:
            return connection.execute(sql).fetchall()

        report.rows_flushed = sum(int(row[2]) for row in call(f"call ducklake_flush_inlined_data({lake})"))
        merged = call(f"call ducklake_merge_adjacent_files({lake})")
        report.files_merged = sum(int(row[2]) for row in merged)
        report.files_written = sum(int(row[3]) for row in merged)
        report.snapshots_expired = len(call(f"call ducklake_expire_snapshots({lake}, older_than => {cutoff})"))
        report.files_deleted = len(call(f"call ducklake_cleanup_old_files({lake}, cleanup_all => true)"))
        report.orphans_deleted = len(call(f"call ducklake_delete_orphaned_files({lake}, older_than => {cutoff})"))
        report.snapshots_left = int(call(f"select count(*) from {ALIAS}.snapshots()")[0][0])
    report.seconds = time.monotonic() - started
    return report
