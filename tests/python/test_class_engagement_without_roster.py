"""Without a roster, gold.class_chapter_engagement stays empty, and its incremental run took every
row of events_cleaned as new since its last run (no row of its own to say when that was): each
hourly run cut every session of the history again, to write nothing (14 s an hour at 10M events).
Its scope is the sessions of students in a class: with no class, no session is read."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from small_dbt_runs import loaded_warehouse

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect


def operator_rows(profile: dict[str, Any], name: str) -> Iterator[int]:
    if profile.get("operator_name") == name or profile.get("operator_type") == name:
        yield int(profile.get("operator_cardinality", 0))
    for child in profile.get("children", []):
        yield from operator_rows(child, name)


def test_an_hourly_run_without_a_roster_reads_no_session(tmp_path: Path) -> None:
    settings = Settings(warehouse_path=loaded_warehouse(tmp_path))
    built = run_dbt(["build", "--exclude", "resource_type:test", "resource_type:unit_test", "--quiet"], settings,
                    capture=True)
    assert built.returncode == 0, built.stdout[-3000:]
    with connect(settings, read_only=True) as warehouse:
        assert warehouse.execute("select count(*) from silver.events_cleaned").fetchall()[0][0] > 0
        assert warehouse.execute("select count(*) from silver.class_students").fetchall()[0][0] == 0
    target = tmp_path / "target"
    compiled = run_dbt(["compile", "-s", "class_chapter_engagement", "--target-path", str(target), "--quiet"],
                       settings, capture=True)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    sql = (target / "compiled" / "student_behavior" / "models" / "marts" / "gold"
           / "class_chapter_engagement.sql").read_text()
    profile_path = tmp_path / "profile.json"
    with connect(settings, read_only=True) as warehouse:
        warehouse.execute("set variable student_hash_salt = 'any salt: nothing is hashed here'")
        warehouse.execute(f"pragma enable_profiling = 'json'; pragma profiling_output = '{profile_path}'")
        assert warehouse.execute(f"select count(*) from ({sql}) as planned_rows").fetchall()[0][0] == 0
        warehouse.execute("pragma disable_profiling")
    windowed = list(operator_rows(json.loads(profile_path.read_text()), "WINDOW"))
    assert windowed, "the dwell window is no longer in the plan: this test must look elsewhere"
    assert max(windowed) == 0, f"the dwell window sorted {max(windowed)} events for a table that stays empty"
