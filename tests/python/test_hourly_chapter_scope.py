"""An hourly chapter_engagement recomputed every date that rewritten events touch from the complete
sessions with an event on that date: its dwell window sorted the whole date's events (10M at the even
day's midnight, when sessions cross into the new date: 18 s of a 71 s hour). The dwell, visit starts and
exits are now decided per session in int_session_chapter_days, for the rewritten sessions only, and the
gold tables add its rows up per date."""

from __future__ import annotations

from pathlib import Path

from query_profiles import output_rows, profiled_rows
from warehouses import copy_warehouse, load_late_events

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

CHAPTER_MODELS = {"int_session_chapter_days": "intermediate", "chapter_engagement": "marts/gold",
                  "class_chapter_engagement": "marts/gold"}


def test_an_hourly_run_sorts_the_events_of_rewritten_sessions_only(built_warehouse: Settings,
                                                                   tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "warehouse.sqlite")
    copy_warehouse(built_warehouse.warehouse_path, settings.warehouse_path)
    load_late_events(settings, tmp_path, students=3)
    cleaned = run_dbt(["run", "-s", "+events_cleaned", "--quiet"], settings, capture=True)
    assert cleaned.returncode == 0, cleaned.stdout[-3000:]
    target = tmp_path / "target"
    compiled = run_dbt(["compile", "-s", *CHAPTER_MODELS, "--target-path", str(target), "--quiet"], settings,
                       capture=True)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    with connect(settings, read_only=True) as warehouse:
        rewritten, on_their_dates = warehouse.execute(
            "select count(*) filter (where updated_at = (select max(updated_at) from silver.events_cleaned)),"
            " count(*) filter (where date in (select date from silver.events_cleaned"
            "  where updated_at = (select max(updated_at) from silver.events_cleaned)))"
            " from silver.events_cleaned").fetchall()[0]
    assert 3 < rewritten < on_their_dates / 2, "the late events did not join earlier sessions"
    sorted_events = 0
    for model, folder in CHAPTER_MODELS.items():
        sql = (target / "compiled" / "student_behavior" / "models" / folder / f"{model}.sql").read_text()
        _, profile = profiled_rows(settings, sql, tmp_path / f"{model}.json")
        sorted_events += sum(output_rows(profile, "WINDOW"))
    assert sorted_events, "no dwell window in the chapter models any more: this test must look elsewhere"
    assert sorted_events <= rewritten, (
        f"the chapter models sorted {sorted_events} events for {rewritten} rewritten ones "
        f"({on_their_dates} events on their dates)")
