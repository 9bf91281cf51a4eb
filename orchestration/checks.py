"""The missing-or-late raw partition check: an hour that should have raw events and has none.

An hour "should have some" when the same hour of the day had raw events on at least one of
the seven days before (a school night stays quiet without an alert). Hours are checked from
24 hours before now up to `raw_partition_lateness_hours` before now: data may arrive that
late without an alert. The check is non-blocking (it reports, it does not stop a build), runs
on its own schedule, and a failure reaches the webhook through the check-failure sensor.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from ingest.settings import Settings
from ingest.warehouse.lake import connect
from orchestration.load import RAW_EVENTS

# Hours with raw events, by the event's own timestamp, among lines loaded since `?`.
HOURS_WITH_EVENTS = """
select distinct date_trunc('hour', ts) as hour
from (
    -- a raw line need not be JSON at all (it is rejected later): never parse one that is not
    select try_cast(json_extract_string(raw_line, '$.timestamp') as timestamptz) as ts
    from raw.events
    where loaded_at >= ? and json_valid(raw_line)
)
where ts >= ? and ts < ?
"""


def missing_raw_hours(settings: Settings, now: datetime, lateness_hours: float) -> list[datetime]:
    """Hours (UTC) in [now - 24 h, now - lateness) with no raw events though that hour of day had some
    in the week before."""
    end = (now - timedelta(hours=lateness_hours)).replace(minute=0, second=0, microsecond=0)
    start = (now - timedelta(hours=24)).replace(minute=0, second=0, microsecond=0)
    history_start = start - timedelta(days=7)
    with connect(settings, read_only=True) as warehouse:
        warehouse.execute("set TimeZone = 'UTC'")
        hours = {row[0].astimezone(UTC) for row in
                 warehouse.execute(HOURS_WITH_EVENTS, [history_start, history_start, end]).fetchall()}
    usual = {hour.hour for hour in hours if hour < start}
    expected = [start + timedelta(hours=offset) for offset in range(int((end - start).total_seconds() // 3600))]
    return [hour for hour in expected if hour.hour in usual and hour not in hours]


def build_checks(settings: Settings) -> list[Any]:
    @asset_check(asset=RAW_EVENTS, name="raw_hours_present", blocking=False,
                 description="Every hour of the last day that usually has raw events has some (missing or late "
                             "raw partitions).")
    def raw_hours_present(context: AssetCheckExecutionContext) -> AssetCheckResult:
        lateness = settings.orchestration.raw_partition_lateness_hours
        if lateness <= 0:
            return AssetCheckResult(passed=True, metadata={"disabled": "RAW_PARTITION_LATENESS_HOURS=0"})
        missing = missing_raw_hours(settings, datetime.now(UTC), lateness)
        text = ", ".join(hour.strftime("%Y-%m-%d %H:00") for hour in missing)
        return AssetCheckResult(
            passed=not missing, severity=AssetCheckSeverity.ERROR,
            description=f"no raw events for {len(missing)} hour(s) that usually have some: {text} UTC"
            if missing else "every expected hour has raw events",
            metadata={"missing_hours": len(missing), "hours": text})

    return [raw_hours_present]
