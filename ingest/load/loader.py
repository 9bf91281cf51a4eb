"""Land raw event files in `raw.events` with dlt, through Arrow batches, exactly once per file."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ingest.errors import InputError
from ingest.files.raw_files import RawFile, fingerprint, read_lines
from ingest.locks import exclusive
from ingest.output import Progress, say
from ingest.settings import Settings
from ingest.warehouse.busy import explained_warehouse_errors
from ingest.warehouse.lake import ALIAS, METADATA_SCHEMA, connect, duckdb_config, install_extensions, location
from ingest.warehouse.writer import warehouse_writer
from ingest.zone.raw_zone_cache import resolve

if TYPE_CHECKING:  # dlt itself is imported once its configuration is in the environment (see _pipeline)
    from dlt import Pipeline
    from dlt.destinations.impl.ducklake.configuration import DuckLakeCredentials
    from dlt.destinations.sql_client import SqlClientBase

log = logging.getLogger(__name__)

PIPELINE_NAME = "student_behavior_raw"
READ_AHEAD_THREADS = 2
DATASET = "raw"

LOADED_AT_TYPE = pa.timestamp("us", tz="UTC")
EVENTS_SCHEMA = pa.schema([
    pa.field("raw_line", pa.string(), nullable=False),
    pa.field("source_file", pa.string(), nullable=False),
    pa.field("line_number", pa.int64(), nullable=False),
    pa.field("loaded_at", LOADED_AT_TYPE, nullable=False),
])
LOADED_FILES_SCHEMA = pa.schema([
    pa.field("source_file", pa.string(), nullable=False),
    pa.field("sha256", pa.string(), nullable=False),
    pa.field("size_bytes", pa.int64(), nullable=False),
    pa.field("rows", pa.int64(), nullable=False),
    pa.field("loaded_at", LOADED_AT_TYPE, nullable=False),
])


@dataclass
class Recovery:
    """What the start of a run found left over by an interrupted one, and removed."""

    packages: list[tuple[str, str]] = field(default_factory=list)  # (load id, stage it reached)
    partial_rows: int = 0

    def message(self) -> str | None:
        if not self.packages and not self.partial_rows:
            return None
        parts = []
        if self.packages:
            packages = ", ".join(f"{load_id} ({stage})" for load_id, stage in self.packages)
            parts.append(f"its pending package(s) {packages}")
        if self.partial_rows:
            parts.append(f"{self.partial_rows:,} rows it had written without committing")
        return f"an earlier load was interrupted: discarded {' and '.join(parts)}; its files load again now"


@dataclass
class LoadReport:
    files_loaded: list[str] = field(default_factory=list)
    files_skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, where it was loaded before)
    files_failed: list[tuple[str, str]] = field(default_factory=list)  # (file, why it could not be read)
    rows: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    load_id: str | None = None
    recovery: Recovery = field(default_factory=Recovery)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _pipeline(settings: Settings) -> Pipeline:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # dlt adds `_dlt_load_id` to Arrow tables only when asked to.
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    # dlt logs a job's failure with a traceback before it raises; the loader reports it itself.
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "CRITICAL")
    # Several Parquet files per load, loaded into DuckDB by two workers at once.
    os.environ.setdefault("DATA_WRITER__FILE_MAX_ITEMS", "1500000")
    os.environ.setdefault("LOAD__WORKERS", "2")
    # The package's Parquet files are a copy of raw data: gone as soon as each job committed.
    os.environ.setdefault("LOAD__DELETE_COMPLETED_JOBS", "true")
    import dlt

    from ingest.load.destination import tagged_ducklake

    if settings.warehouse_encrypted:
        # WAREHOUSE_ENCRYPTED: the lake is created here, encrypted, before dlt attaches it (the
        # catalog keeps the setting, so every later writer encrypts too).
        connect(settings).close()
    folder = settings.warehouse_path.parent
    try:
        # The working folder sits beside the warehouse: creating it proves the folder is writable.
        settings.pipelines_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot write in the warehouse folder {folder} ({error.strerror}); "
                         "set WAREHOUSE_PATH to a file in a folder you can write") from error
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=tagged_ducklake(credentials=_ducklake_credentials(settings), override_data_path=True),
        dataset_name=DATASET,
        pipelines_dir=str(settings.pipelines_dir),
    )


def _ducklake_credentials(settings: Settings) -> DuckLakeCredentials:
    """The warehouse's lake (warehouse/lake.py) as dlt's DuckLake destination names it."""
    from dlt.common.configuration.specs import ConnectionStringCredentials
    from dlt.destinations.impl.ducklake.configuration import DuckLakeCredentials

    install_extensions(settings.extension_dir)
    lake = location(settings)
    if lake.is_embedded:
        catalog = ConnectionStringCredentials(
            {"drivername": "sqlite", "database": lake.catalog.removeprefix("sqlite:")})
    else:
        # DuckLake's `postgres:key=value ...` string as dlt's connection credentials
        words = dict(word.split("=", 1) for word in lake.catalog.removeprefix("postgres:").split())
        catalog = ConnectionStringCredentials({
            "drivername": "postgres", "database": words.get("dbname"), "host": words.get("host", "localhost"),
            "port": int(words["port"]) if "port" in words else None, "username": words.get("user"),
            "password": words.get("password")})
    credentials = DuckLakeCredentials(ducklake_name=ALIAS, metadata_schema=METADATA_SCHEMA, catalog=catalog,
                                      storage=lake.data_path)
    credentials.global_config = duckdb_config(settings)
    return credentials


def _tables(client: SqlClientBase[Any]) -> set[str]:
    rows = client.execute_sql(
        "select table_name from information_schema.tables where table_schema = %s", client.dataset_name)
    return {name for (name,) in rows or []}


def _recover_interrupted(pipeline: Pipeline) -> Recovery:
    """Discard what a killed run left behind, so that its files load again, exactly once.

    A load is committed when dlt writes its row in `_dlt_loads`; its jobs (Parquet files
    into `events` and `loaded_files`) commit one by one before that. A run killed on the way
    leaves a pending package in dlt's working folder and, if it was killed while loading,
    rows of an uncommitted load. Finishing the package could repeat a job that committed just
    before the kill, so the package is dropped instead and every row of an uncommitted load
    is deleted: its files are then unknown to `loaded_files` and load again in this run.
    """
    recovery = Recovery(
        packages=[(load_id, "extracted") for load_id in pipeline.list_extracted_load_packages()]
        + [(load_id, "normalized") for load_id in pipeline.list_normalized_load_packages()])
    if recovery.packages:
        pipeline.abort_packages()
    # A run killed while extracting leaves its half-written package outside dlt's lists.
    normalize_folder = Path(pipeline.working_dir) / "normalize"
    for unfinished in normalize_folder.glob("*/*"):
        if unfinished.parent.name != "extracted" and unfinished.is_dir():
            recovery.packages.append((unfinished.name, "extracting"))
            shutil.rmtree(unfinished.parent, ignore_errors=True)
    with pipeline.sql_client() as client:
        if not {"_dlt_loads", "events"} <= _tables(client):
            return recovery
        uncommitted = "_dlt_load_id not in (select load_id from _dlt_loads where status = 0)"
        for table in ("events", "loaded_files"):
            # Counted first: DuckLake's DELETE has no RETURNING. An empty delete would still
            # commit a snapshot, so it runs only when there is something to delete.
            rows = client.execute_sql(f"select count(*) from {table} where {uncommitted}")
            count = int(rows[0][0]) if rows else 0
            if count:
                client.execute_sql(f"delete from {table} where {uncommitted}")
            if table == "events":
                recovery.partial_rows = count
    return recovery


def _already_loaded(pipeline: Pipeline) -> dict[str, str]:
    """sha256 -> file it was loaded from, for every file of a committed load."""
    with pipeline.sql_client() as client:
        if "loaded_files" not in _tables(client):
            return {}
        rows = client.execute_sql(
            "select sha256, source_file from loaded_files "
            "where _dlt_load_id in (select load_id from _dlt_loads where status = 0)")
    return {sha: source for sha, source in rows or []}


def _discard_working_files(pipeline: Pipeline) -> None:
    """dlt keeps each loaded package (a copy of its raw lines until the jobs are deleted) and a trace."""
    working = Path(pipeline.working_dir)
    shutil.rmtree(working / "load" / "loaded", ignore_errors=True)
    (working / "trace.pickle").unlink(missing_ok=True)


def _file_tables(path: Path) -> list[pa.Table] | InputError:
    """The whole file's tables, read before any is loaded: a file that fails half-way lands no line."""
    try:
        return list(read_lines(path))
    except InputError as error:
        return error


def _event_batches(files: list[RawFile], loaded_at: datetime, report: LoadReport,
                   progress: Progress, file_rows: dict[str, int]) -> Iterator[pa.Table]:
    stamp = pa.scalar(loaded_at, type=LOADED_AT_TYPE)
    # Files are read and split ahead on a second thread (gzip and Arrow release the GIL)
    # while dlt writes the previous ones; map() keeps the file order.
    with ThreadPoolExecutor(max_workers=READ_AHEAD_THREADS) as pool:
        for raw_file, tables in zip(files, pool.map(_file_tables, [f.path for f in files]), strict=True):
            source = raw_file.source_name
            if isinstance(tables, InputError):
                report.files_failed.append((source, str(tables)))
                progress.advance(done=1)
                continue
            rows = 0
            for table in tables:
                count = table.num_rows
                rows += count
                yield pa.Table.from_arrays(
                    [table["raw_line"], pa.repeat(pa.scalar(source, pa.string()), count), table["line_number"],
                     pa.repeat(stamp, count)],
                    schema=EVENTS_SCHEMA,
                )
            file_rows[source] = rows
            report.rows += rows
            report.bytes_read += raw_file.size_bytes
            progress.advance(done=1, items=rows)


def _file_table(files: list[RawFile], file_rows: dict[str, int], loaded_at: datetime) -> pa.Table:
    landed = [f for f in files if f.source_name in file_rows]
    return pa.Table.from_arrays(
        [pa.array([f.source_name for f in landed], pa.string()),
         pa.array([f.sha256 for f in landed], pa.string()),
         pa.array([f.size_bytes for f in landed], pa.int64()),
         pa.array([file_rows[f.source_name] for f in landed], pa.int64()),
         pa.array([loaded_at] * len(landed), LOADED_AT_TYPE)],
        schema=LOADED_FILES_SCHEMA,
    )


def _explain(error: BaseException) -> Exception:
    """The user's problem inside dlt's wrapping, or a load error that says what to do."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, InputError):
            return InputError(f"{cause} Nothing from this run was loaded.")
        cause = cause.__cause__ or cause.__context__
    return InputError(f"the load failed and nothing from this run was loaded: {error}")


def load_files(paths: list[str], settings: Settings, show_progress: bool = True) -> LoadReport:
    """Load every event file under `paths` (files, folders, s3:// URLs) that is not in the warehouse yet.

    A file that cannot be read (a truncated gzip) lands no line and is reported in
    `files_failed`; the others load.
    """
    started = time.monotonic()
    report = LoadReport()
    candidates = resolve(paths, settings)  # s3:// objects come as local cached copies
    pipeline = _pipeline(settings)
    # The writer lock first, then the loader's own: every holder of both takes them in this order (the
    # stream loop holds the writer lock for a whole cycle and loads inside it), or two would deadlock.
    with warehouse_writer(settings, "load"), exclusive(settings.pipelines_dir / "loader.lock", "load"):
        return _load(pipeline, candidates, settings, report, started, show_progress)


def _load(pipeline: Pipeline, candidates: list[tuple[Path, str]], settings: Settings,
          report: LoadReport, started: float, show_progress: bool) -> LoadReport:
    import dlt

    with explained_warehouse_errors(settings):
        report.recovery = _recover_interrupted(pipeline)
        known = _already_loaded(pipeline)
    if message := report.recovery.message():
        say("load", message)
    todo: list[RawFile] = []
    seen_now: dict[str, str] = {}
    for path, source_name in candidates:
        raw_file = fingerprint(path, source_name)
        previous = known.get(raw_file.sha256) or seen_now.get(raw_file.sha256)
        if previous:
            report.files_skipped.append((source_name, previous))
            continue
        seen_now[raw_file.sha256] = source_name
        todo.append(raw_file)
    if not todo:
        _discard_working_files(pipeline)
        report.seconds = time.monotonic() - started
        return report

    loaded_at = datetime.now(UTC)
    progress = Progress("load", total=len(todo), enabled=show_progress)
    file_rows: dict[str, int] = {}

    @dlt.resource(name="events", write_disposition="append")
    def events() -> Iterator[pa.Table]:
        yield from _event_batches(todo, loaded_at, report, progress, file_rows)
        if not report.rows:
            yield EVENTS_SCHEMA.empty_table()  # so that a load of empty files still creates `events`
        # The bookkeeping rows go last, once every file's line count is known; they commit
        # with the lines, as one dlt load (a load without its `_dlt_loads` row is undone).
        yield dlt.mark.with_table_name(_file_table(todo, file_rows, loaded_at), "loaded_files")

    try:
        with explained_warehouse_errors(settings):
            info = pipeline.run(events())
    except InputError:
        progress.finish()
        raise
    except Exception as error:  # dlt wraps whatever went wrong in its own step exceptions
        progress.finish()
        raise _explain(error) from error
    progress.finish()
    info.raise_on_failed_jobs()
    _discard_working_files(pipeline)
    report.load_id = info.loads_ids[0] if info.loads_ids else None
    report.files_loaded = [f.source_name for f in todo if f.source_name in file_rows]
    report.seconds = time.monotonic() - started
    return report
