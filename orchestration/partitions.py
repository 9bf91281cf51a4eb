"""Dagster partitions and how they map onto the dbt project's backfill vars.

Daily partitions are calendar days (UTC, the project's reporting time zone); a run of a
range of days is one dbt invocation with `start_date`/`end_date` set to the first and last
day (dbt_project.yml's idempotent backfill): it rebuilds every derived row of events on
those dates, and takes any newly loaded events along. The realtime mart is hourly.
"""

from __future__ import annotations

from datetime import date

from dagster import BackfillPolicy, DailyPartitionsDefinition, HourlyPartitionsDefinition

FIRST_DAY = "2025-09-01"

# end_offset=1: today is a partition too, so the hourly run can rebuild the day so far.
DAILY = DailyPartitionsDefinition(start_date=FIRST_DAY, end_offset=1)
HOURLY = HourlyPartitionsDefinition(start_date=f"{FIRST_DAY}-00:00", end_offset=1)

# A backfill of many days is one run and one dbt invocation over the whole range (not one per
# day): dbt's backfill vars take a range, and one writer at a time makes parallel runs moot.
BACKFILL_POLICY = BackfillPolicy.single_run()


def day_of(partition_key: str) -> date:
    """The day of a daily ("2026-11-30") or hourly ("2026-11-30-05:00") partition key."""
    return date.fromisoformat(partition_key[:10])


def backfill_vars(first_key: str, last_key: str) -> dict[str, str]:
    """dbt's vars for the partitions first_key..last_key (inclusive)."""
    return {"start_date": day_of(first_key).isoformat(), "end_date": day_of(last_key).isoformat()}
