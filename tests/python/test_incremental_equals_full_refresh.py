"""The invariant of incremental builds: loading a sample in random chunks, with late
events and duplicates spread across them and a build after each, gives exactly the rows
of one full refresh over the same raw records, in every silver, gold and feature table."""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warehouses import copy_warehouse

from ingest.load.loader import load_files
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

# Bookkeeping columns say when a row was written; everything else must be equal.
BOOKKEEPING = ("updated_at", "processed_at")
TABLES = (
    "silver.events_cleaned", "silver.events_rejected", "silver.events_duplicates", "silver.sessions",
    "intermediate.int_session_chapter_days",
    "gold.student_daily_activity", "gold.chapter_engagement", "gold.question_attempts_summary",
    "gold.course_activity_realtime", "feature_store.student_features",
)
CHUNKS = 4


def dbt(args: list[str], settings: Settings) -> None:
    done = run_dbt([*args, "--quiet"], settings, capture=True)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]


def split_into_chunks(raw: Path, out: Path, seed: int) -> list[Path]:
    """Every line of the sample, shuffled into chunks of random size (one file each)."""
    lines = [line for path in sorted(raw.rglob("*.gz")) for line in gzip.decompress(path.read_bytes()).splitlines()]
    rng = random.Random(seed)
    rng.shuffle(lines)
    cuts = sorted(rng.sample(range(1, len(lines)), CHUNKS - 1))
    chunks = []
    for index, (start, end) in enumerate(zip([0, *cuts], [*cuts, len(lines)], strict=True)):
        path = out / f"chunk-{index}" / "events.jsonl"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"\n".join(lines[start:end]) + b"\n")
        chunks.append(path)
    return chunks


def table_rows(warehouse: Path, table: str) -> list[tuple]:
    with connect(Settings(warehouse_path=warehouse), read_only=True) as connection:
        columns = [c for (c,) in connection.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position", table.split(".")).fetchall() if c not in BOOKKEEPING]
        listed = ", ".join(columns)
        return connection.execute(f"select {listed} from {table} order by all").fetchall()


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Settings]:
    base = tmp_path_factory.mktemp("incremental")
    start = datetime.now(UTC).date() - timedelta(days=6)
    generate(GenerateConfig(students=70, days=5, start=start, seed=11, out=base / "raw", dirty_rate=0.03,
                            duplicate_rate=0.03), progress=False)
    chunks = split_into_chunks(base / "raw", base / "chunks", seed=5)

    incremental = Settings(warehouse_path=base / "incremental.sqlite")
    dbt(["seed"], incremental)
    for chunk in chunks:
        load_files([str(chunk)], incremental, show_progress=False)
        dbt(["run"], incremental)

    full = Settings(warehouse_path=base / "full.sqlite")
    copy_warehouse(incremental.warehouse_path, full.warehouse_path)
    dbt(["run", "--full-refresh"], full)
    return incremental, full


@pytest.mark.parametrize("table", TABLES)
def test_chunked_incremental_builds_equal_a_full_refresh(warehouses: tuple[Settings, Settings], table: str) -> None:
    incremental, full = warehouses
    built_in_chunks = table_rows(incremental.warehouse_path, table)
    built_at_once = table_rows(full.warehouse_path, table)

    assert built_in_chunks, f"{table} is empty"
    only_incremental = sorted(set(built_in_chunks) - set(built_at_once))[:5]
    only_full = sorted(set(built_at_once) - set(built_in_chunks))[:5]
    assert (len(built_in_chunks), only_incremental, only_full) == (len(built_at_once), [], [])


def test_a_build_without_new_data_changes_nothing(warehouses: tuple[Settings, Settings]) -> None:
    incremental, _ = warehouses
    before = {table: table_rows(incremental.warehouse_path, table) for table in TABLES}

    dbt(["run"], incremental)

    assert {table: table_rows(incremental.warehouse_path, table) for table in TABLES} == before


def test_a_backfill_rebuilds_a_date_range_to_the_same_rows(warehouses: tuple[Settings, Settings]) -> None:
    incremental, full = warehouses
    with connect(incremental, read_only=True) as connection:
        first, last = connection.execute("select min(date), max(date) from silver.events_cleaned").fetchall()[0]

    dbt(["run", "--vars", f"{{start_date: '{first + timedelta(days=1)}', end_date: '{first + timedelta(days=2)}'}}"],
        incremental)

    for table in TABLES:
        assert table_rows(incremental.warehouse_path, table) == table_rows(full.warehouse_path, table), table


def test_every_model_and_column_is_documented(warehouses: tuple[Settings, Settings], tmp_path: Path) -> None:
    """`make docs` builds a lineage site where every relation and column says what it holds."""
    _, full = warehouses
    dbt(["docs", "generate", "--target-path", str(tmp_path)], full)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "catalog.json").read_text())

    missing = []
    for unique_id, built in catalog["nodes"].items():
        node = manifest["nodes"][unique_id]
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        if not node["description"].strip():
            missing.append(unique_id)
        documented = {name.lower() for name, column in node["columns"].items() if column["description"].strip()}
        missing += [f"{unique_id}.{name}" for name in built["columns"]
                    if name.lower() not in documented and not name.startswith("dbt_")]
    assert missing == [], "\n".join(missing)


def test_realtime_activity_equals_its_definition(warehouses: tuple[Settings, Settings]) -> None:
    """The island-and-running-sum SQL of course_activity_realtime against the definition
    computed the slow way: every minute, the distinct students of the 5 and 15 minutes before."""
    _, full = warehouses
    with connect(full, read_only=True) as warehouse:
        warehouse.execute("set TimeZone = 'UTC'")
        differences = warehouse.execute("""
            with student_minutes as (
                select course_id, student_hash, date_trunc('minute', ts) as active_minute, count(*) as events
                from silver.events_cleaned where course_id is not null group by all),
            report_minutes as (
                select distinct course_id, active_minute + to_minutes(offset_minutes) as report_minute
                from student_minutes cross join range(15) as offsets(offset_minutes)),
            by_definition as (
                select r.course_id, r.report_minute,
                    coalesce(sum(case when s.active_minute = r.report_minute then s.events end), 0) as events,
                    count(distinct case when s.active_minute >= r.report_minute - interval 4 minute
                        then s.student_hash end) as active_5m,
                    count(distinct s.student_hash) as active_15m
                from report_minutes as r inner join student_minutes as s
                    on s.course_id = r.course_id and s.active_minute between r.report_minute - interval 14 minute
                    and r.report_minute
                where r.report_minute <= now()
                group by all),
            built as (
                select course_id, minute_start, events_count, active_students_5m, active_students_15m
                from gold.course_activity_realtime)
            select count(*) from ((select * from by_definition except all select * from built)
                                  union all (select * from built except all select * from by_definition))
        """).fetchall()[0][0]
    assert differences == 0
