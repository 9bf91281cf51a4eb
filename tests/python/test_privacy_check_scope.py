"""The privacy test (tests/singular/assert_no_raw_personal_data_outside_raw.sql) checks the rows of
the latest run. An hourly run also rewrites the earlier rows of every session its new events
join, so the loads it touches include the day's load, and the test derived the ids to look for
(the record's own student_id and ip) from every staged record of that load before it joined them
to the checked rows: at 10M events, 10.8M records to check 0.9M rows (13 s of the hourly run).
The ids are derived for the checked rows only."""

from __future__ import annotations

import json
from pathlib import Path

from query_profiles import operators, profiled_rows
from warehouses import copy_warehouse, load_late_events

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

TEST_SQL = Path("tests") / "singular" / "assert_no_raw_personal_data_outside_raw.sql"


def test_an_hourly_run_derives_ids_for_the_checked_rows_only(built_warehouse: Settings, tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "warehouse.sqlite")
    copy_warehouse(built_warehouse.warehouse_path, settings.warehouse_path)
    load_late_events(settings, tmp_path)
    built = run_dbt(["run", "--quiet"], settings, capture=True)
    assert built.returncode == 0, built.stdout[-3000:]
    with connect(settings, read_only=True) as warehouse:
        checked_rows, staged_records = warehouse.execute(
            "select"
            " (select count(*) from silver.events_cleaned"
            "  where updated_at = (select max(updated_at) from silver.events_cleaned))"
            " + (select count(*) from intermediate.int_events__validated"
            "  where processed_at = (select max(processed_at) from intermediate.int_events__validated)),"
            " (select count(*) from raw.stg_raw__events)").fetchall()[0]
    assert 1 < checked_rows < staged_records / 10, "the new event did not rewrite an earlier session"
    target = tmp_path / "target"
    compiled = run_dbt(["compile", "-s", "assert_no_raw_personal_data_outside_raw", "--target-path", str(target),
                        "--quiet"], settings, capture=True)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    sql = (target / "compiled" / "student_behavior" / TEST_SQL).read_text()
    leaks, profile = profiled_rows(settings, sql, tmp_path / "profile.json")
    assert leaks == 0
    # The id to look for is spelled with length() (ids of at least 4 characters, events.md).
    deriving = [int(operator.get("operator_cardinality", 0)) for operator in operators(profile)
                if "length(" in json.dumps(operator.get("extra_info", {}))]
    assert deriving, "no operator derives the ids any more: this test must look elsewhere"
    assert max(deriving) <= checked_rows, (
        f"the ids were derived for {max(deriving)} staged records to check {checked_rows} rows")
