"""A Python asset below the dbt models: ops.daily_summary, one row per day.

It is what a failing dbt check must stop (Dagster users report that a failing dbt test does
not stop downstream Python assets; here an error-severity test fails the dbt step, and
Dagster skips this asset for the partition). The dashboard's "students per day" panel and
anyone checking a day at a glance read it.
"""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, asset

from ingest.settings import Settings
from ingest.warehouse.lake import connect
from ingest.warehouse.writer import warehouse_writer
from orchestration.partitions import BACKFILL_POLICY, DAILY, day_of
from orchestration.run_log import StepRecord, record, triggered_by

SESSIONS = AssetKey(["silver", "sessions"])
DAILY_ACTIVITY = AssetKey(["gold", "student_daily_activity"])

CREATE = """
create table if not exists ops.daily_summary (
    date date not null,
    active_students bigint not null,
    sessions bigint not null,
    minutes_spent double not null,
    updated_at timestamptz not null
)
"""

SUMMARY = """
insert into ops.daily_summary
select
    days.date,
    coalesce(activity.students, 0),
    coalesce(session_counts.sessions, 0),
    coalesce(activity.seconds, 0) / 60.0,
    now()
from (select unnest(generate_series(cast(? as date), cast(? as date), interval 1 day))::date as date) as days
left join (
    select date, count(distinct student_hash) as students, sum(total_time_spent_seconds) as seconds
    from gold.student_daily_activity group by date
) as activity on activity.date = days.date
left join (
    select cast(session_start as date) as date, count(*) as sessions from silver.sessions group by 1
) as session_counts on session_counts.date = days.date
"""


def build_summary_assets(settings: Settings) -> list[Any]:
    @asset(key=AssetKey(["ops", "daily_summary"]), deps=[SESSIONS, DAILY_ACTIVITY], partitions_def=DAILY,
           backfill_policy=BACKFILL_POLICY, pool="warehouse_writer", kinds={"python", "duckdb"},
           description="Active students, sessions and minutes per day (Python, below the dbt marts).")
    def daily_summary(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        keys = context.partition_key_range
        first, last = day_of(keys.start), day_of(keys.end)
        entry = StepRecord(run_id=context.run.run_id, job_name=context.run.job_name, step="daily_summary",
                           partition_start=keys.start, partition_end=keys.end,
                           triggered_by=triggered_by(context.run.tags))
        with warehouse_writer(settings, "dagster daily_summary"), connect(settings) as warehouse:
            warehouse.execute("create schema if not exists ops")
            warehouse.execute(CREATE)
            warehouse.execute("begin")
            warehouse.execute("delete from ops.daily_summary where date between ? and ?", [first, last])
            warehouse.execute(SUMMARY, [first, last])
            warehouse.execute("commit")
            rows = warehouse.execute("select date, active_students, sessions from ops.daily_summary "
                                     "where date between ? and ? order by date", [first, last]).fetchall()
        entry.rows_in = sum(int(row[2]) for row in rows)
        entry.rows_out = (last - first + timedelta(days=1)).days
        entry.result = "success"
        record(settings, entry)
        yield MaterializeResult(metadata={"days": entry.rows_out, "active_students": sum(int(r[1]) for r in rows)})

    return [daily_summary]
