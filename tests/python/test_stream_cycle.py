"""One cycle of the stream loop (`load_and_build`) on a real warehouse: a build that failed is redone
by the next cycle even when that cycle brings no new rows (a quiet stream, or the DuckLake write
conflict a concurrent build on a PostgreSQL catalog can cause)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from warehouses import copy_warehouse

from ingest.kafka.stream import load_and_build
from ingest.load.loader import load_files
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import Settings
from ingest.warehouse.lake import connect


def cleaned_rows(settings: Settings) -> int:
    with connect(settings, read_only=True) as warehouse:
        return int(warehouse.execute("select count(*) from silver.events_cleaned").fetchall()[0][0])


def test_a_pending_build_runs_in_a_cycle_without_new_rows(built_warehouse: Settings, tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "warehouse.sqlite")
    copy_warehouse(built_warehouse.warehouse_path, settings.warehouse_path)
    before = cleaned_rows(settings)
    # Rows a cycle loaded while its build failed: loaded, not built.
    generate(GenerateConfig(students=5, days=1, start=date.today() - timedelta(days=1), seed=97, out=tmp_path / "zone"),
             progress=False)
    assert load_files([str(tmp_path / "zone")], settings, show_progress=False).rows > 0

    quiet = load_and_build([], settings)
    assert quiet.built is None and cleaned_rows(settings) == before

    redone = load_and_build([], settings, build_pending=True)
    assert redone.built is True and cleaned_rows(settings) > before
