"""What `make orchestrate` serves (`dagster dev -m orchestration.definitions`): assets, checks,
jobs, schedules and sensors, for the warehouse of `Settings.from_env()`.

Schedules (UTC):
- `hourly_incremental` (:10 every hour): today's daily partition: load the day's new raw files,
  `dbt build` with start_date = end_date = today (new events, and today's rows rebuilt), the summary.
- `realtime_hourly` (:05 every hour): the previous hour's partition of the realtime mart.
- `nightly_check_all_rows` (02:30): yesterday's partition again, every data test over every row.
- `raw_partition_check` (:20 every hour): the missing-or-late raw hours check and dbt's source freshness
  of raw/events.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    RunRequest,
    ScheduleEvaluationContext,
    build_schedule_from_partitioned_job,
    define_asset_job,
    schedule,
)

from ingest.settings import Settings
from orchestration.alerts import build_sensors
from orchestration.checks import build_checks
from orchestration.dbt import build_dbt_assets, dbt_resource, manifest_path
from orchestration.freshness import build_freshness_check
from orchestration.load import build_load_assets
from orchestration.summary import build_summary_assets

NIGHTLY_CONFIG = {"ops": {"dbt_daily": {"config": {"check_all_rows": True}}}}


def build_definitions(settings: Settings, manifest: Path | None = None) -> Definitions:
    load_assets = build_load_assets(settings)
    dbt_daily, dbt_realtime = build_dbt_assets(settings, manifest or manifest_path())
    summary_assets = build_summary_assets(settings)
    checks = [*build_checks(settings), build_freshness_check(settings)]

    daily_job = define_asset_job(
        "daily",
        selection=AssetSelection.assets(*load_assets, dbt_daily, *summary_assets) - AssetSelection.checks(*checks),
        description="One day (or a range, as one run): load its raw files, dbt build with start_date/end_date, "
                    "the summary. Every step takes the warehouse_writer pool.")
    realtime_job = define_asset_job("realtime", selection=AssetSelection.assets(dbt_realtime),
                                    description="The realtime mart for one hour.")
    raw_check_job = define_asset_job("raw_partition_check", selection=AssetSelection.checks(*checks),
                                     description="Missing or late raw hours (raw_hours_present) and dbt source "
                                                 "freshness (raw_source_fresh).")

    def today(context: ScheduleEvaluationContext) -> datetime:
        moment = context.scheduled_execution_time or datetime.now(UTC)
        return moment.astimezone(UTC)

    @schedule(job=daily_job, cron_schedule="10 * * * *", execution_timezone="UTC",
              default_status=DefaultScheduleStatus.RUNNING)
    def hourly_incremental(context: ScheduleEvaluationContext) -> RunRequest:
        day = today(context).date().isoformat()
        return RunRequest(run_key=f"hourly-{today(context):%Y-%m-%dT%H}", partition_key=day)

    @schedule(job=daily_job, cron_schedule="30 2 * * *", execution_timezone="UTC",
              default_status=DefaultScheduleStatus.RUNNING)
    def nightly_check_all_rows(context: ScheduleEvaluationContext) -> RunRequest:
        day = (today(context).date() - timedelta(days=1)).isoformat()
        return RunRequest(run_key=f"nightly-{day}", partition_key=day, run_config=NIGHTLY_CONFIG)

    @schedule(job=raw_check_job, cron_schedule="20 * * * *", execution_timezone="UTC",
              default_status=DefaultScheduleStatus.RUNNING)
    def raw_partition_check(context: ScheduleEvaluationContext) -> RunRequest:
        return RunRequest(run_key=f"raw-check-{today(context):%Y-%m-%dT%H}")

    realtime_hourly = build_schedule_from_partitioned_job(
        realtime_job, name="realtime_hourly", minute_of_hour=5, default_status=DefaultScheduleStatus.RUNNING)

    assets: list[Any] = [*load_assets, dbt_daily, dbt_realtime, *summary_assets]
    return Definitions(
        assets=assets, asset_checks=checks, jobs=[daily_job, realtime_job, raw_check_job],
        schedules=[hourly_incremental, realtime_hourly, nightly_check_all_rows, raw_partition_check],
        sensors=build_sensors(settings), resources={"dbt": dbt_resource()})


def _definitions_from_environment() -> Definitions:
    return build_definitions(Settings.from_env())


defs = _definitions_from_environment()
