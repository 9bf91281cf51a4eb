"""assert_loaded_files_match_raw_events checks the loads the latest build validated. Found by a
subquery, those loads did not let DuckDB skip a single file of raw.events: every hourly build
read the load id of every raw line ever landed (1 s an hour at 10M lines). As literals they do."""

from __future__ import annotations

import re
from pathlib import Path

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect


def test_the_landing_check_names_its_loads_as_literals(built_warehouse: Settings, tmp_path: Path) -> None:
    done = run_dbt(["compile", "-s", "assert_loaded_files_match_raw_events", "--target-path", str(tmp_path), "--quiet"],
                   built_warehouse, capture=True)
    assert done.returncode == 0, done.stdout[-3000:]
    sql = (tmp_path / "compiled" / "student_behavior" / "tests" / "singular"
           / "assert_loaded_files_match_raw_events.sql").read_text()
    with connect(built_warehouse, read_only=True) as connection:
        validated = {row[0] for row in connection.execute(
            "select distinct load_id from intermediate.int_events__validated").fetchall()}

    raw_scan = sql[sql.index('from "lake"."raw"."events"'):]
    assert "int_events__validated" not in raw_scan, raw_scan
    literals = set(re.findall(r"_dlt_load_id in \('([^)]*)'\)", raw_scan)[0].split("', '"))
    assert validated and literals == validated
