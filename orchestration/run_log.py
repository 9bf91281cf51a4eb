"""`ops.pipeline_runs`: one row per step of every orchestrated run, in the warehouse itself.

Who (the schedule, sensor, backfill or user that started the run), what (job and step),
when, which partition(s), rows in and out, the dlt load ids and the dbt invocation id the
step made, and its result. The pipeline's Prometheus metrics are computed from this table,
so they survive a restart of everything but the warehouse.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ingest.settings import Settings
from ingest.warehouse.lake import connect
from ingest.warehouse.writer import warehouse_writer

COLUMNS = ("run_id", "job_name", "step", "partition_start", "partition_end", "triggered_by", "started_at",
           "finished_at", "result", "rows_in", "rows_out", "dlt_load_ids", "dbt_invocation_id", "error")

CREATE = """
create table if not exists ops.pipeline_runs (
    run_id varchar not null,
    job_name varchar not null,
    step varchar not null,
    partition_start varchar,
    partition_end varchar,
    triggered_by varchar not null,
    started_at timestamptz not null,
    finished_at timestamptz not null,
    result varchar not null,
    rows_in bigint,
    rows_out bigint,
    dlt_load_ids varchar,
    dbt_invocation_id varchar,
    error varchar
)
"""


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class StepRecord:
    run_id: str
    job_name: str
    step: str
    partition_start: str | None
    partition_end: str | None
    triggered_by: str
    started_at: datetime = field(default_factory=now)
    finished_at: datetime | None = None
    result: str = "running"
    rows_in: int | None = None
    rows_out: int | None = None
    dlt_load_ids: list[str] = field(default_factory=list)
    dbt_invocation_id: str | None = None
    error: str | None = None

    def values(self) -> tuple[object, ...]:
        return (self.run_id, self.job_name, self.step, self.partition_start, self.partition_end, self.triggered_by,
                self.started_at, self.finished_at or now(), self.result, self.rows_in, self.rows_out,
                json.dumps(self.dlt_load_ids), self.dbt_invocation_id, (self.error or "")[:2000] or None)


def triggered_by(tags: Mapping[str, str]) -> str:
    """Who started a run, from its Dagster tags: a schedule, a sensor, a backfill, or the user."""
    for tag, kind in (("dagster/schedule_name", "schedule"), ("dagster/sensor_name", "sensor"),
                      ("dagster/backfill", "backfill")):
        if tags.get(tag):
            return f"{kind}:{tags[tag]}"
    return f"user:{tags.get('user') or getpass.getuser()}"


def record(settings: Settings, step: StepRecord) -> None:
    """Append the step's row (the warehouse's writer lock is taken, or already held by this thread)."""
    placeholders = ", ".join("?" for _ in COLUMNS)
    with warehouse_writer(settings, "pipeline run log"), connect(settings) as warehouse:
        warehouse.execute("create schema if not exists ops")
        warehouse.execute(CREATE)
        warehouse.execute(f"insert into ops.pipeline_runs ({', '.join(COLUMNS)}) values ({placeholders})",
                          list(step.values()))


def read_runs(settings: Settings) -> list[dict[str, object]]:
    """Every row of ops.pipeline_runs, oldest first; none before the first orchestrated run."""
    with connect(settings, read_only=True) as warehouse:
        exists = warehouse.execute(
            "select count(*) from information_schema.tables where table_schema = 'ops' and table_name = "
            "'pipeline_runs'").fetchall()[0][0]
        if not exists:
            return []
        cursor = warehouse.execute(f"select {', '.join(COLUMNS)} from ops.pipeline_runs order by started_at")
        return [dict(zip(COLUMNS, row, strict=True)) for row in cursor.fetchall()]
