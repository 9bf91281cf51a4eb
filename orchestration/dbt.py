"""Every dbt model, seed and snapshot as a Dagster asset; every dbt data test as an asset check.

Error-severity tests are blocking checks: when one fails, dbt skips the models below it and
the step fails, so Dagster skips every downstream asset of the run, dbt or Python alike.
Warn-severity tests are reported as failed, non-blocking checks.

The dbt process gets the environment `ingest.warehouse.dbt_runner.dbt_environment` builds
(the warehouse, the lake, the extensions), and runs while this step holds the warehouse's
writer lock: the child is marked as the holder's, so it does not wait for its parent.
"""


import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, Config, Failure
from dagster_dbt import DbtCliResource, dbt_assets

from ingest.locks import exclusive
from ingest.settings import PROJECT_DIR, Settings
from ingest.warehouse.dbt_runner import dbt_environment, dbt_executable
from ingest.warehouse.lake import connect
from ingest.warehouse.writer import warehouse_writer
from orchestration.partitions import BACKFILL_POLICY, DAILY, HOURLY, backfill_vars
from orchestration.run_log import StepRecord, record, triggered_by

POOL = "warehouse_writer"  # the Dagster pool of every step that writes the warehouse
# The realtime mart, hourly; its upstream chain (tag:realtime) is daily here and is also what
# the stream loop builds every cycle.
REALTIME = "course_activity_realtime"
MANIFEST_DIR = PROJECT_DIR / "target" / "dagster"
# Raw lines of files the raw zone filed under those days (a column read, no JSON parsed).
RAW_ROWS_OF_DAYS = ("select count(*) from raw.events where "
                    "regexp_extract(source_file, 'date=(\\d{4}-\\d{2}-\\d{2})', 1) between ? and ?")


def manifest_path(target_dir: Path = MANIFEST_DIR, refresh: bool = False) -> Path:
    """dbt's manifest.json for the definitions, parsed into target_dir when missing (or when asked).

    Processes that import the definitions at once (pytest's workers, a webserver and its
    daemon) take turns under a lock, and the manifest appears whole: dbt parses into a
    folder of its own (keeping its partial parse) and the result is renamed into place."""
    manifest = target_dir / "manifest.json"
    with exclusive(target_dir / "parse.lock", "dbt parse"):
        if refresh or not manifest.exists():
            parsed = _parse(target_dir / "parse")
            unfinished = target_dir / "manifest.json.partial"
            shutil.copyfile(parsed, unfinished)
            os.replace(unfinished, manifest)
    return manifest


def _parse(target_dir: Path) -> Path:
    environment = {**os.environ, "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles")}
    done = subprocess.run([dbt_executable(), "--no-use-colors", "parse", "--target-path", str(target_dir),
                           "--log-path", str(target_dir / "logs")],
                          cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dbt parse failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return target_dir / "manifest.json"


def dbt_resource() -> DbtCliResource:
    """dbt of this environment (dagster-dbt looks for `dbt` on PATH otherwise)."""
    return DbtCliResource(project_dir=str(PROJECT_DIR), profiles_dir=str(PROJECT_DIR / "profiles"),
                          dbt_executable=dbt_executable())


class DbtBuildConfig(Config):
    """check_all_rows: data tests check every row, not only the ones this run wrote (the nightly run)."""

    check_all_rows: bool = False


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """os.environ is `values` for the block: dagster-dbt starts dbt with a copy of os.environ."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _count(settings: Settings, sql: str, parameters: list[Any]) -> int | None:
    try:
        with connect(settings, read_only=True) as warehouse:
            return int(warehouse.execute(sql, parameters).fetchall()[0][0])
    except Exception:  # a table not built yet: no count, the run goes on
        return None


def run_dbt_build(context: AssetExecutionContext, dbt: DbtCliResource, settings: Settings, step: str,
                  config: DbtBuildConfig) -> Iterator[Any]:
    """`dbt build` of this step's selection for its partition range, as one writer; a row in ops.pipeline_runs."""
    keys = context.partition_key_range
    dbt_vars: dict[str, object] = {**backfill_vars(keys.start, keys.end), "check_all_rows": config.check_all_rows}
    entry = StepRecord(run_id=context.run.run_id, job_name=context.run.job_name, step=step,
                       partition_start=keys.start, partition_end=keys.end, triggered_by=triggered_by(context.run.tags))
    day_range = [dbt_vars["start_date"], dbt_vars["end_date"]]
    entry.rows_in = _count(settings, RAW_ROWS_OF_DAYS, day_range)
    failure: str | None = None
    with warehouse_writer(settings, f"dagster {step}"):
        with environment(dbt_environment(settings)):
            invocation = dbt.cli(["build", "--vars", json.dumps(dbt_vars), "--exclude", "test_type:unit"],
                                 context=context, raise_on_error=False)
        try:
            yield from invocation.stream()
        finally:
            if not invocation.is_successful():
                failure = invocation.get_error() and str(invocation.get_error()) or "dbt build failed"
            try:
                entry.dbt_invocation_id = invocation.get_artifact("run_results.json")["metadata"]["invocation_id"]
            except Exception:  # no run_results.json: dbt stopped before it wrote one
                entry.dbt_invocation_id = None
            entry.rows_out = _count(settings, "select count(*) from silver.events_cleaned where date between ? and ?",
                                    day_range)
            entry.result = "failure" if failure else "success"
            entry.error = failure
            record(settings, entry)
    if failure:
        raise Failure(description=f"{step}: {failure}")


def build_dbt_assets(settings: Settings, manifest: Path) -> list[Any]:
    """Daily dbt assets (every model, seed and snapshot but the realtime mart) and the hourly realtime mart."""

    @dbt_assets(manifest=manifest, exclude=REALTIME, partitions_def=DAILY, backfill_policy=BACKFILL_POLICY,
                pool=POOL, name="dbt_daily")
    def dbt_daily(context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig) -> Iterator[Any]:
        yield from run_dbt_build(context, dbt, settings, "dbt_daily", config)

    @dbt_assets(manifest=manifest, select=REALTIME, partitions_def=HOURLY, backfill_policy=BACKFILL_POLICY,
                pool=POOL, name="dbt_realtime")
    def dbt_realtime(context: AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig) -> Iterator[Any]:
        yield from run_dbt_build(context, dbt, settings, "dbt_realtime", config)

    return [dbt_daily, dbt_realtime]
