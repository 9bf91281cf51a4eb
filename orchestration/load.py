"""The dlt load as Dagster assets: raw.events and raw.loaded_files, one daily partition at a time.

A partition is the raw zone's `<topic>/date=YYYY-MM-DD/` folders of that day. The project's
loader (`ingest.load.loader.load_files`, dlt underneath) loads each file once, by content
hash, and recovers what a killed load left; it takes the warehouse's writer lock itself, so
a run, a backfill and the stream loop never write at the same time.
"""


from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AssetSpec, Failure, MaterializeResult, multi_asset

from ingest.load.loader import load_files
from ingest.settings import Settings
from ingest.zone.raw_zone import open_raw_zone
from orchestration.partitions import BACKFILL_POLICY, DAILY, day_of
from orchestration.run_log import StepRecord, record, triggered_by

RAW_EVENTS = AssetKey(["raw", "events"])
RAW_LOADED_FILES = AssetKey(["raw", "loaded_files"])
RAW_DLT_LOADS = AssetKey(["raw", "_dlt_loads"])


def files_of_days(settings: Settings, first: date, last: date) -> list[str]:
    """Every file the raw zone holds under a `date=` folder of first..last."""
    zone = open_raw_zone(settings.raw_zone_url)
    root = zone.local_path("")
    days = {(first + timedelta(days=offset)).isoformat() for offset in range((last - first).days + 1)}
    keys = [key for key in zone.list("") if any(f"/date={day}/" in f"/{key}" for day in days)]
    return sorted(str(root / key) if root is not None else f"{settings.raw_zone_url.rstrip('/')}/{key}"
                  for key in keys)


def build_load_assets(settings: Settings) -> list[Any]:
    @multi_asset(specs=[AssetSpec(RAW_EVENTS, description="Raw lines, exactly as they arrived (dlt).",
                                  kinds={"dlt", "duckdb"}),
                        AssetSpec(RAW_LOADED_FILES, description="Loader bookkeeping: one row per loaded file.",
                                  kinds={"dlt", "duckdb"}),
                        AssetSpec(RAW_DLT_LOADS, description="dlt's committed loads.", kinds={"dlt", "duckdb"})],
                 partitions_def=DAILY, backfill_policy=BACKFILL_POLICY, pool="warehouse_writer", name="dlt_load")
    def dlt_load(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        keys = context.partition_key_range
        files = files_of_days(settings, day_of(keys.start), day_of(keys.end))
        entry = StepRecord(run_id=context.run.run_id, job_name=context.run.job_name, step="dlt_load",
                           partition_start=keys.start, partition_end=keys.end,
                           triggered_by=triggered_by(context.run.tags), rows_in=0, rows_out=0)
        try:
            report = load_files(files, settings, show_progress=False) if files else None
        except Exception as error:
            entry.result, entry.error = "failure", str(error)
            record(settings, entry)
            raise
        if report is not None:
            entry.rows_out = report.rows
            entry.rows_in = report.rows  # every line of a new file lands, valid or not
            entry.dlt_load_ids = [report.load_id] if report.load_id else []
        failed = report.files_failed if report else []
        entry.result = "failure" if failed else "success"
        entry.error = "; ".join(f"{path}: {why}" for path, why in failed) or None
        record(settings, entry)
        if failed:
            raise Failure(description=f"dlt_load: {len(failed)} file(s) could not be read: {entry.error}")
        metadata = {"files_found": len(files), "files_loaded": len(report.files_loaded) if report else 0,
                    "rows": entry.rows_out, "dlt_load_id": report.load_id or "" if report else ""}
        yield MaterializeResult(asset_key=RAW_EVENTS, metadata=metadata)
        yield MaterializeResult(asset_key=RAW_LOADED_FILES, metadata={"files_loaded": metadata["files_loaded"]})
        yield MaterializeResult(asset_key=RAW_DLT_LOADS, metadata={"dlt_load_id": metadata["dlt_load_id"]})

    return [dlt_load]
