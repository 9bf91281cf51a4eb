"""An incremental events_cleaned rewrites the sessions its new events join: it found them cheaply, then
took their rows by a semi-join on session_id, a digest with no order, so the scan read every column of
the whole table to rewrite a few sessions (7.3 s of CPU at 10M events, and growing with the history,
not with the hour). The rows are read from where the touched sessions begin: earlier dates and row
groups are skipped."""

from __future__ import annotations

import json
from pathlib import Path

from query_profiles import operators, profiled_rows
from warehouses import copy_warehouse, load_late_events

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect


def test_an_hourly_run_reads_the_wide_rows_of_recent_sessions_only(built_warehouse: Settings,
                                                                    tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "warehouse.sqlite")
    copy_warehouse(built_warehouse.warehouse_path, settings.warehouse_path)
    # Ten sessions: their ids, digests, span the range, so the old min/max filter on session_id skipped nothing.
    load_late_events(settings, tmp_path, students=10)
    validated = run_dbt(["run", "-s", "+int_events__enriched", "--quiet"], settings, capture=True)
    assert validated.returncode == 0, validated.stdout[-3000:]
    target = tmp_path / "target"
    compiled = run_dbt(["compile", "-s", "events_cleaned", "--target-path", str(target), "--quiet"], settings,
                       capture=True)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    sql = (target / "compiled" / "student_behavior" / "models" / "marts" / "silver" / "events_cleaned.sql").read_text()
    with connect(settings, read_only=True) as warehouse:
        cleaned = warehouse.execute("select count(*) from silver.events_cleaned").fetchall()[0][0]
    rewritten, profile = profiled_rows(settings, sql, tmp_path / "profile.json")
    assert 10 < rewritten < cleaned / 4, "the late events did not join earlier sessions"
    wide_reads = [int(operator.get("operator_cardinality", 0)) for operator in operators(profile)
                  if operator.get("operator_name") == "DUCKLAKE_SCAN"
                  and operator.get("extra_info", {}).get("Table") == "events_cleaned"
                  and "metadata" in json.dumps(operator.get("extra_info", {}).get("Projections"))]
    assert wide_reads, "no scan reads events_cleaned's rows whole any more: this test must look elsewhere"
    assert max(wide_reads) < 0.5 * cleaned, (
        f"{max(wide_reads)} of {cleaned} rows read whole to rewrite {rewritten} rows")
