"""A file with no lines is loaded, counted and harmless: every later build still passes.

It used to break the reconciliation for good: the empty load was never seen by
validation (it has no rows), `assert_raw_records_reconcile` failed on it, and a full
refresh could not recover.
"""

from __future__ import annotations

from pathlib import Path

from ingest.load.loader import load_files
from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

EVENT = ('{"event_id":"e-%d","student_id":"s-1001","event_type":"login",'
         '"timestamp":"2025-11-15T08:%02d:00Z"}')


def build(settings: Settings, *args: str) -> None:
    """Every model and data test; unit tests check logic, not loaded data (make test-dbt runs them)."""
    done = run_dbt(["build", "--quiet", "--exclude", "test_type:unit", *args], settings, capture=True)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]


def test_empty_files_load_and_every_later_build_passes(tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "warehouse" / "empty.sqlite")
    empty = tmp_path / "in" / "empty.jsonl"
    empty.parent.mkdir()
    empty.write_bytes(b"")

    first = load_files([str(empty)], settings, show_progress=False)
    assert first.files_loaded == [str(empty.resolve())] and first.rows == 0
    build(settings)

    events = tmp_path / "in2" / "events.jsonl"
    events.parent.mkdir()
    events.write_text("".join(EVENT % (n, n) + "\n" for n in range(3)))
    load_files([str(events)], settings, show_progress=False)
    build(settings)
    build(settings, "--full-refresh")

    with connect(settings, read_only=True) as connection:
        assert connection.execute("select count(*) from silver.events_cleaned").fetchone() == (3,)
        assert connection.execute(
            "select source_file, rows from raw.loaded_files order by rows").fetchall() == [
            (str(empty.resolve()), 0), (str(events.resolve()), 3)]
