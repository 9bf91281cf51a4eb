"""The warehouse is a DuckLake that serves while it writes, on both catalogs (a SQLite file,
a real PostgreSQL): a reader in another process reads consistent snapshots over and over
while a full build and stream-style cycles (a load, then the realtime build) commit; a
build killed half-way leaves the previous rows readable; every snapshot of a load or a dbt
run says which one it was; maintenance keeps the rows and drops the old files.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from postgres_server import PostgresServer, postgres_fixture
from warehouses import copy_warehouse

from ingest.load.loader import load_files
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import PROJECT_DIR, Settings
from ingest.warehouse.dbt_runner import dbt_environment, dbt_executable, run_dbt
from ingest.warehouse.lake import connect
from ingest.warehouse.maintenance import maintain
from ingest.warehouse.reading import run_query, snapshots

postgres = postgres_fixture()
DAY = date.today() - timedelta(days=3)
HOURS = (9, 10, 11)  # one hour of the next day each: the stream cycles and later loads
# Two cycles write while the full build does, and two loads and builds leave the small files and
# snapshots that maintenance merges and expires: a third would only lengthen make test.
STREAM_CYCLES = 2
PRODUCTION_BUILD = ["build", "--exclude", "test_type:unit", "--quiet"]


@dataclass(frozen=True)
class Sample:
    base: Path
    hours: list[Path]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    folder = tmp_path_factory.mktemp("lakehouse")
    generate(GenerateConfig(students=120, days=2, start=DAY - timedelta(days=2), seed=3, out=folder / "base"),
             progress=False)
    hours = []
    for hour in HOURS:
        out = folder / f"hour-{hour}"
        generate(GenerateConfig(students=120, days=1, start=DAY, seed=hour, out=out, start_hour=hour, hours=1),
                 progress=False)
        hours.append(out)
    return Sample(folder / "base", hours)


TEMPLATE_DATABASE = "lake_template"


def template_warehouse(kind: str, folder: Path, server: PostgresServer | None) -> Settings:
    if kind == "sqlite":
        return Settings(warehouse_path=folder / "warehouse.sqlite")
    assert server is not None
    return Settings(warehouse_path=folder / "pg.sqlite", warehouse_catalog=server.catalog(TEMPLATE_DATABASE),
                    warehouse_data_path=str(folder / "pg-data"))


def copy_of(template: Settings, folder: Path, server: PostgresServer | None) -> Settings:
    """A warehouse of its own holding what `template` holds: its catalog (a copied SQLite file, or a
    PostgreSQL database made from the template's) and a copy of its data files."""
    if server is None:
        copy_warehouse(template.warehouse_path, folder / "warehouse.sqlite")
        return Settings(warehouse_path=folder / "warehouse.sqlite")
    assert template.warehouse_data_path is not None
    shutil.copytree(template.warehouse_data_path, folder / "pg-data")
    return Settings(warehouse_path=folder / "pg.sqlite", warehouse_data_path=str(folder / "pg-data"),
                    warehouse_catalog=server.catalog(f"lake_{folder.name[-12:]}", template=TEMPLATE_DATABASE))


@pytest.fixture(scope="module")
def templates() -> dict[str, Settings]:
    """The base sample loaded and built once per catalog; each test works on a copy."""
    return {}


@pytest.fixture(params=["sqlite", "postgres"])
def built(request: pytest.FixtureRequest, sample: Sample, templates: dict[str, Settings],
          tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Settings:
    server = request.getfixturevalue("postgres") if request.param == "postgres" else None
    if request.param not in templates:
        template = template_warehouse(request.param, tmp_path_factory.mktemp(f"template-{request.param}"), server)
        load_files([str(sample.base)], template, show_progress=False)
        done = run_dbt(PRODUCTION_BUILD, template, capture=True)
        assert done.returncode == 0, done.stdout[-4000:]
        templates[request.param] = template
    return copy_of(templates[request.param], tmp_path, server)


def cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=PROJECT_DIR, env=dbt_environment(settings),
                          capture_output=True, text=True, timeout=600)


@pytest.fixture
def reader(built: Settings, tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    out, stop = tmp_path / "reads.jsonl", tmp_path / "stop"
    process = subprocess.Popen([sys.executable, str(Path(__file__).with_name("lake_reader.py")), str(out), str(stop)],
                               cwd=PROJECT_DIR, env=dbt_environment(built))
    deadline = time.monotonic() + 60
    while not (out.exists() and out.read_text().count("\n") >= 2) and time.monotonic() < deadline:
        time.sleep(0.2)
    yield out, stop
    stop.touch()
    process.wait(timeout=60)


def realtime_build(settings: Settings) -> subprocess.CompletedProcess[str]:
    """A stream cycle's build. On the PostgreSQL catalog writers run side by side and DuckLake settles
    two writes to one table optimistically: the later commit fails with a transaction conflict and
    the (idempotent, incremental) build is redone, as the stream loop's next cycle redoes a failed
    build (test_stream_cycle.py)."""
    for _ in range(6):
        done = run_dbt(["build", "-s", "+tag:realtime", "--indirect-selection", "cautious",
                        "--exclude", "test_type:unit", "--quiet"], settings, capture=True)
        if done.returncode == 0 or "Transaction conflict" not in done.stdout:
            return done
        time.sleep(3)
    return done


def test_readers_read_consistent_snapshots_while_a_full_build_and_stream_cycles_write(
        built: Settings, sample: Sample, reader: tuple[Path, Path]) -> None:
    out, stop = reader
    failures: list[str] = []

    def full_build() -> None:
        done = run_dbt([*PRODUCTION_BUILD, "--full-refresh"], built, capture=True)
        if done.returncode:
            failures.append("full build: " + done.stdout[-3000:])

    def stream_cycles() -> None:
        for hour in sample.hours[:STREAM_CYCLES]:
            loaded = cli(built, "files", "-q", str(hour))
            built_now = realtime_build(built)
            if loaded.returncode or built_now.returncode:
                failures.append(f"stream cycle {hour}: {loaded.stderr[-2000:]}{built_now.stdout[-3000:]}")

    writers = [threading.Thread(target=full_build), threading.Thread(target=stream_cycles)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    time.sleep(1.0)
    stop.touch()
    time.sleep(0.5)

    assert failures == []
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    start, reads = lines[0], [line for line in lines[1:] if line["kind"] == "read"]
    assert [line for line in lines if line["kind"] == "error"] == []
    assert len(reads) >= 20, f"only {len(reads)} reads while the writers ran"
    assert all(read["cleaned"] == read["cleaned_ids"] for read in reads), "an event twice within a snapshot"
    for key in ("raw_events", "cleaned", "snapshot"):
        seen = [start[key]] + [read[key] for read in reads]
        assert seen == sorted(seen), f"{key} went down between reads: {seen}"
    assert {json.dumps(read["pinned"], sort_keys=True) for read in reads} == {
        json.dumps(start, sort_keys=True).replace('"kind": "start", ', "")}, "a pinned snapshot changed"
    assert reads[-1]["raw_events"] > start["raw_events"] and reads[-1]["snapshot"] > start["snapshot"]
    with connect(built, read_only=True) as connection:
        final = connection.execute("select count(*) from silver.events_cleaned").fetchone()
    assert reads[-1]["cleaned"] == final[0] if final else False


def table_rows(settings: Settings) -> dict[str, list[tuple[object, ...]]]:
    tables = ("silver.events_cleaned", "silver.sessions", "gold.student_daily_activity",
              "feature_store.student_features")
    with connect(settings, read_only=True) as connection:
        return {table: connection.execute(f"select * exclude (updated_at) from {table} order by all").fetchall()
                for table in tables}


def test_a_build_killed_half_way_leaves_the_previous_rows_readable(built: Settings, sample: Sample) -> None:
    """Each model's write is one transaction: a build killed while it writes leaves every table
    either as it was before the build or as a complete build makes it, never half-written."""
    before = table_rows(built)
    assert cli(built, "files", "-q", str(sample.hours[0])).returncode == 0
    build = subprocess.Popen([dbt_executable(), "--no-use-colors", *PRODUCTION_BUILD[:-1]], cwd=PROJECT_DIR,
                             env=dbt_environment(built), stdout=subprocess.PIPE, text=True)
    assert build.stdout is not None
    for line in build.stdout:  # killed as it starts writing the first of the tables compared
        if "START sql incremental model silver.events_cleaned" in line:
            build.send_signal(signal.SIGKILL)
            break
    build.wait()
    assert build.returncode == -signal.SIGKILL, "the build ended before it could be killed"

    after_kill = table_rows(built)
    again = run_dbt(PRODUCTION_BUILD, built, capture=True)
    assert again.returncode == 0, again.stdout[-3000:]
    complete = table_rows(built)
    for table, rows in after_kill.items():
        assert rows in (before[table], complete[table]), f"{table} was left half-written"
    assert after_kill["silver.events_cleaned"] == before["silver.events_cleaned"] != complete["silver.events_cleaned"]


def test_every_snapshot_of_a_load_or_a_dbt_run_names_it(built: Settings, sample: Sample, tmp_path: Path) -> None:
    report = load_files([str(sample.hours[1])], built, show_progress=False)
    done = run_dbt(["run", "-s", "+events_cleaned", "--quiet", "--target-path", str(tmp_path / "target")], built,
                   capture=True)
    assert done.returncode == 0
    invocation = json.loads((tmp_path / "target" / "run_results.json").read_text())["metadata"]["invocation_id"]

    messages = [row[3] for row in snapshots(built, 20).rows]
    assert f"load {report.load_id}: events" in messages and f"load {report.load_id}: committed" in messages
    assert f"dbt run {invocation}: silver.events_cleaned" in messages
    listed = cli(built, "snapshots", "--limit", "5", "--format", "csv")
    assert listed.returncode == 0 and f"dbt run {invocation}: silver.events_cleaned" in listed.stdout


def test_query_reads_as_table_csv_json_and_at_an_older_snapshot(built: Settings, sample: Sample) -> None:
    sql = "select count(*) as events from raw.events"
    before = run_query(built, sql)
    load_files([str(sample.hours[2])], built, show_progress=False)

    now = cli(built, "query", sql, "--format", "json")
    then = cli(built, "query", sql, "--format", "csv", "--at", str(before.snapshot))
    table = cli(built, "query", sql)
    refused = cli(built, "query", "delete from raw.events")

    assert json.loads(now.stdout)[0]["events"] > before.rows[0][0]
    assert then.stdout.splitlines() == ["events", str(before.rows[0][0])]
    assert table.stdout.splitlines()[0].strip() == "events" and "snapshot" in table.stdout.splitlines()[-1]
    assert refused.returncode == 2 and "read-only" in refused.stderr and "Traceback" not in refused.stderr


def data_files(settings: Settings) -> set[Path]:
    folder = Path(settings.warehouse_data_path or f"{settings.warehouse_path}.files")
    return {path for path in folder.rglob("*.parquet")}


def test_maintenance_keeps_the_rows_and_drops_old_snapshots_and_files(built: Settings, sample: Sample) -> None:
    for hour in sample.hours[:STREAM_CYCLES]:  # small loads and builds: small files and snapshots
        load_files([str(hour)], built, show_progress=False)
        assert run_dbt(PRODUCTION_BUILD, built, capture=True).returncode == 0
    rows, files = table_rows(built), data_files(built)

    report = maintain(built, retention_days=0)

    assert table_rows(built) == rows
    assert report.files_merged > 0 and report.snapshots_expired > 0 and report.files_deleted > 0
    assert len(data_files(built)) < len(files)
    assert report.snapshots_left <= 2
    assert os.path.exists(built.warehouse_path) or built.warehouse_catalog


def test_the_schemas_created_up_front_are_every_schema_the_project_writes() -> None:
    import yaml  # dbt's own dependency

    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())

    def schemas(node: object) -> set[str]:
        if not isinstance(node, dict):
            return set()
        found = {str(node["+schema"])} if "+schema" in node else set()
        return found.union(*(schemas(child) for child in node.values()))

    from ingest.warehouse.lake import SCHEMAS

    written = schemas(project["models"]) | schemas(project["seeds"]) | {"raw", "snapshots", "ops"}
    assert set(SCHEMAS) == written


def test_dbt_writes_a_ducklake_from_one_thread_on_every_catalog() -> None:
    """Several dbt threads share one DuckDB instance, and DuckLake 1.5.5 then sometimes files a
    table under another schema at commit (duckdb/ducklake#1404): a PostgreSQL-catalog build
    with 4 threads failed one time in three here. Side-by-side writers are separate processes."""
    import yaml

    outputs = yaml.safe_load((PROJECT_DIR / "profiles" / "profiles.yml").read_text())["student_behavior"]["outputs"]
    ducklake_targets = {name: output["threads"] for name, output in outputs.items() if output["type"] == "duckdb"}
    assert ducklake_targets == {"dev": 1, "postgres": 1}
