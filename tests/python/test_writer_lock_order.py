"""Whoever holds the warehouse's writer lock may load: the stream loop holds it for a whole cycle
(load and build) while an orchestrated load waits for it. The loader once took its own lock before
the writer lock, so a waiting load held the loader's lock that the cycle needed next: both waited
forever (found by the backfill-during-stream test of test_orchestration.py)."""

from __future__ import annotations

import threading
import time
from datetime import date
from pathlib import Path

from ingest.load.loader import LoadReport, load_files
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import Settings
from ingest.warehouse.writer import warehouse_writer

DEADLINE_SECONDS = 300.0  # a deadlock never ends; a slow machine ends well within this


def test_a_load_inside_a_writer_cycle_never_deadlocks_with_a_waiting_load(tmp_path: Path) -> None:
    generate(GenerateConfig(students=5, days=2, start=date(2026, 11, 1), seed=3,
                            out=tmp_path / "zone"), progress=False)
    days = sorted((tmp_path / "zone" / "clickstream").iterdir())
    settings = Settings(warehouse_path=tmp_path / "warehouse.sqlite")
    reports: dict[str, LoadReport] = {}

    def load(name: str, folder: Path) -> None:
        reports[name] = load_files([str(folder)], settings, show_progress=False)

    def cycle() -> None:
        with warehouse_writer(settings, "stream cycle"):
            waiting = threading.Thread(target=load, args=("orchestrated", days[0]), daemon=True)
            waiting.start()
            time.sleep(3)  # the other load is now waiting for a lock
            load("stream", days[1])
        waiting.join(DEADLINE_SECONDS)

    worker = threading.Thread(target=cycle, daemon=True)
    worker.start()
    worker.join(DEADLINE_SECONDS)
    assert not worker.is_alive(), "the cycle's load and the waiting load deadlocked"
    assert set(reports) == {"orchestrated", "stream"} and all(report.rows > 0 for report in reports.values())
