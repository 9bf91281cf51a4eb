"""An incremental run writes its new rows once: an append inserts from a temporary view of the
model's query (macros/incremental_temp_view.sql), where dbt-duckdb built a temporary table and
copied it (1.6 s of 5.5 s of an hourly stg_raw__events at 10M events). A delete+insert keeps
its temporary table: it reads the new rows twice, the second time after its delete."""

from __future__ import annotations

import re
from pathlib import Path

from small_dbt_runs import dbt_build, loaded_warehouse, output
from warehouses import copy_with_a_new_load

MODELS = ("--select", "+events_cleaned", "--exclude", "resource_type:test")


def temporary_relations(log: str, kind: str) -> set[str]:
    """The models an incremental run built a temporary `kind` (view or table) for."""
    return set(re.findall(rf'create\s+temporary\s+{kind}\s+"(\w+?)__dbt_tmp\d+"', log))


def test_appends_insert_from_a_view_and_delete_inserts_keep_a_table(tmp_path: Path) -> None:
    built = tmp_path / "built"
    warehouse = loaded_warehouse(built)
    first = dbt_build(built, warehouse, *MODELS)
    assert first.returncode == 0, output(first)[-3000:]

    hour = tmp_path / "hour"
    settings = copy_with_a_new_load(warehouse, hour, seed=8)
    incremental = dbt_build(hour, settings.warehouse_path, *MODELS)
    assert incremental.returncode == 0, output(incremental)[-3000:]

    log = (hour / "logs" / "dbt.log").read_text()
    assert temporary_relations(log, "view") == {"stg_raw__events", "int_events__validated"}
    assert "events_cleaned" in temporary_relations(log, "table")
