"""Land raw event files in `raw.events` with dlt, through Arrow batches, exactly once per file."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from ingest.raw_files import InputError, RawFile, fingerprint, read_lines
from ingest.raw_zone_cache import resolve
from ingest.settings import Settings

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
class LoadReport:
    files_loaded: list[str] = field(default_factory=list)
    files_skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, where it was loaded before)
    rows: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    load_id: str | None = None

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _pipeline(settings: Settings):  # type: ignore[no-untyped-def]
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    # dlt adds `_dlt_load_id` to Arrow tables only when asked to.
    os.environ.setdefault("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")
    # Several Parquet files per load, loaded into DuckDB by two workers at once.
    os.environ.setdefault("DATA_WRITER__FILE_MAX_ITEMS", "1500000")
    os.environ.setdefault("LOAD__WORKERS", "2")
    import dlt

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=PIPELINE_NAME,
        destination=dlt.destinations.duckdb(str(settings.warehouse_path)),
        dataset_name=DATASET,
        pipelines_dir=str(settings.pipelines_dir),
        progress=None,
    )


def _already_loaded(pipeline) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """sha256 -> file it was loaded from, for every file in `raw.loaded_files`."""
    from dlt.destinations.exceptions import DatabaseUndefinedRelation

    try:
        with pipeline.sql_client() as client:
            rows = client.execute_sql("select sha256, source_file from loaded_files")
    except DatabaseUndefinedRelation:
        return {}
    return {sha: source for sha, source in rows or []}


class _Progress:
    def __init__(self, total_files: int, enabled: bool) -> None:
        self.total_files = total_files
        self.enabled = enabled and total_files > 0
        self.started = time.monotonic()
        self.rows = 0
        self.files = 0

    def update(self, rows: int = 0, files: int = 0) -> None:
        self.rows += rows
        self.files += files
        if self.enabled:
            elapsed = time.monotonic() - self.started
            print(f"\rload: {self.files}/{self.total_files} files, {self.rows:,} lines, {elapsed:.1f}s",
                  end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled:
            print(file=sys.stderr)


def _file_tables(path: Path) -> list[pa.Table]:
    return list(read_lines(path))


def _event_batches(files: list[RawFile], loaded_at: datetime, report: LoadReport,
                   progress: _Progress, file_rows: dict[str, int]) -> Iterator[pa.Table]:
    stamp = pa.scalar(loaded_at, type=LOADED_AT_TYPE)
    # Files are read and split ahead on a second thread (gzip and Arrow release the GIL)
    # while dlt writes the previous ones; map() keeps the file order.
    with ThreadPoolExecutor(max_workers=READ_AHEAD_THREADS) as pool:
        for raw_file, tables in zip(files, pool.map(_file_tables, [f.path for f in files])):
            source = raw_file.source_name
            rows = 0
            for table in tables:
                count = table.num_rows
                rows += count
                yield pa.Table.from_arrays(
                    [table["raw_line"], pa.repeat(pa.scalar(source, pa.string()), count), table["line_number"],
                     pa.repeat(stamp, count)],
                    schema=EVENTS_SCHEMA,
                )
                progress.update(rows=count)
            file_rows[source] = rows
            report.rows += rows
            report.bytes_read += raw_file.size_bytes
            progress.update(files=1)


def _file_table(files: list[RawFile], file_rows: dict[str, int], loaded_at: datetime) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array([f.source_name for f in files], pa.string()),
         pa.array([f.sha256 for f in files], pa.string()),
         pa.array([f.size_bytes for f in files], pa.int64()),
         pa.array([file_rows[f.source_name] for f in files], pa.int64()),
         pa.array([loaded_at] * len(files), LOADED_AT_TYPE)],
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
    """Load every event file under `paths` (files, folders, s3:// URLs) that is not in the warehouse yet."""
    import dlt

    started = time.monotonic()
    report = LoadReport()
    candidates = resolve(paths, settings)  # s3:// objects come as local cached copies
    pipeline = _pipeline(settings)
    known = _already_loaded(pipeline)
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
        report.seconds = time.monotonic() - started
        return report

    loaded_at = datetime.now(timezone.utc)
    progress = _Progress(len(todo), show_progress)
    file_rows: dict[str, int] = {}

    @dlt.resource(name="events", write_disposition="append")
    def events() -> Iterator[pa.Table]:
        yield from _event_batches(todo, loaded_at, report, progress, file_rows)
        # The bookkeeping rows go last, once every file's line count is known.
        yield dlt.mark.with_table_name(_file_table(todo, file_rows, loaded_at), "loaded_files")

    try:
        info = pipeline.run(events())
    except Exception as error:  # dlt wraps whatever went wrong in its own step exceptions
        progress.done()
        raise _explain(error) from error
    progress.done()
    info.raise_on_failed_jobs()
    report.load_id = info.loads_ids[0] if info.loads_ids else None
    report.files_loaded = [f.source_name for f in todo]
    report.seconds = time.monotonic() - started
    return report
