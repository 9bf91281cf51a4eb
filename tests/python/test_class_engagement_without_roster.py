"""Without a roster, the class tables (gold.class_chapter_engagement, gold.class_question_attempts_summary)
stay empty, and an incremental run took every row of events_cleaned as new since its last run (no row
of its own to say when that was). class_chapter_engagement cut every session of the history again, to
write nothing (14 s an hour at 10M events): without a class it has no date to compute again.
class_question_attempts_summary read events_cleaned through one import CTE used twice, which DuckDB
materialized whole on every run: it reads the table where it filters it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from query_profiles import operators, output_rows, profiled_rows
from small_dbt_runs import loaded_warehouse

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect


def scanned_rows(profile: dict[str, Any], table: str) -> list[int]:
    return output_rows(profile, "DUCKLAKE_SCAN", mentioning=f'"Table": "{table}"')


@pytest.fixture(scope="module")
def built_without_roster(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    folder = tmp_path_factory.mktemp("no-roster")
    settings = Settings(warehouse_path=loaded_warehouse(folder))
    built = run_dbt(["build", "--exclude", "resource_type:test", "resource_type:unit_test", "--quiet"], settings,
                    capture=True)
    assert built.returncode == 0, built.stdout[-3000:]
    with connect(settings, read_only=True) as warehouse:
        assert warehouse.execute("select count(*) from silver.events_cleaned").fetchall()[0][0] > 0
        assert warehouse.execute("select count(*) from silver.class_students").fetchall()[0][0] == 0
    target = folder / "target"
    compiled = run_dbt(["compile", "-s", "class_chapter_engagement", "class_question_attempts_summary",
                        "--target-path", str(target), "--quiet"], settings, capture=True)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    return settings, target / "compiled" / "student_behavior" / "models" / "marts" / "gold"


def profile_of(settings: Settings, sql: str, profile_path: Path) -> dict[str, Any]:
    rows, profile = profiled_rows(settings, sql, profile_path)
    assert rows == 0, "a class table without a roster has rows"
    return profile


def test_an_hourly_run_without_a_roster_reads_no_session(built_without_roster: tuple[Settings, Path],
                                                         tmp_path: Path) -> None:
    settings, compiled = built_without_roster
    profile = profile_of(settings, (compiled / "class_chapter_engagement.sql").read_text(), tmp_path / "profile.json")
    grouped = output_rows(profile, "HASH_GROUP_BY")
    assert grouped, "no aggregate in the plan any more: this test must look elsewhere"
    assert max(grouped) == 0, f"{max(grouped)} groups (dates, chapters) computed for a table that stays empty"


def test_class_question_attempts_never_materialize_events_cleaned(built_without_roster: tuple[Settings, Path],
                                                                  tmp_path: Path) -> None:
    settings, compiled = built_without_roster
    profile = profile_of(settings, (compiled / "class_question_attempts_summary.sql").read_text(),
                         tmp_path / "profile.json")
    # A materialized CTE's first child computes it; the second reads it.
    materialized = [sum(scanned_rows(cte["children"][0], "events_cleaned")) for cte in operators(profile)
                    if cte.get("operator_name") == "CTE" and cte.get("children")]
    assert not any(materialized), f"a CTE materialized {max(materialized)} rows of events_cleaned"
