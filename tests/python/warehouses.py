"""Test helpers for embedded warehouses (a DuckLake: the SQLite catalog and its data files)."""

from __future__ import annotations

import shutil
from pathlib import Path

from ingest.settings import Settings


def copy_warehouse(source: Path, target: Path) -> None:
    """A copy that is a warehouse of its own: the catalog (with its WAL files) and the data folder.

    The data path follows the catalog (`<catalog>.files/`, see ingest/warehouse/lake.py), and
    the catalog lists its files relative to it, so the copy reads and writes only its own files."""
    target.parent.mkdir(parents=True, exist_ok=True)
    for file in source.parent.glob(source.name + "*"):
        if file.is_file():
            shutil.copy(file, target.parent / (target.name + file.name.removeprefix(source.name)))
    shutil.copytree(source.parent / f"{source.name}.files", target.parent / f"{target.name}.files")


def copy_with_a_new_load(built: Path, folder: Path, seed: int) -> Settings:
    """A copy of the warehouse `built` in `folder` with one more load waiting in raw.events (5 students,
    yesterday), not built yet: what an hourly run finds."""
    from datetime import date, timedelta

    from ingest.load.loader import load_files
    from ingest.sample.generate import GenerateConfig, generate

    settings = Settings(warehouse_path=folder / "warehouse.sqlite")
    copy_warehouse(built, settings.warehouse_path)
    generate(GenerateConfig(students=5, days=1, start=date.today() - timedelta(days=1), seed=seed, out=folder / "new"),
             progress=False)
    assert load_files([str(folder / "new")], settings, show_progress=False).rows > 0
    return settings


def load_late_events(settings: Settings, folder: Path, students: int = 1) -> None:
    """A new load in `folder`/late with one event a minute after the latest kept event of each of the
    `students` students whose latest events are the latest: each joins that student's last session, so an
    incremental run rewrites the session's earlier rows too."""
    import json
    import uuid

    from ingest.load.loader import load_files
    from ingest.warehouse.lake import connect

    with connect(settings, read_only=True) as warehouse:
        latest = warehouse.execute(
            "select raw_events.raw_line, strftime(cleaned.ts + interval 1 minute, '%Y-%m-%dT%H:%M:%S.%gZ')"
            " from silver.events_cleaned as cleaned inner join raw.events as raw_events"
            " on raw_events.source_file = cleaned.source_file and raw_events.line_number = cleaned.line_number"
            " qualify row_number() over (partition by cleaned.student_hash order by cleaned.ts desc, cleaned.event_id)"
            " = 1 order by cleaned.ts desc limit ?", [students]).fetchall()
    events = [{**json.loads(line), "event_id": str(uuid.uuid4()), "timestamp": later} for line, later in latest]
    new_file = folder / "late" / "late-events.jsonl"
    new_file.parent.mkdir(parents=True)
    new_file.write_text("".join(json.dumps(event) + "\n" for event in events))
    assert load_files([str(new_file.parent)], settings, show_progress=False).rows == students
