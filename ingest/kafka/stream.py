"""`python -m ingest stream`: consume, land, load and build the `realtime` models every N
seconds, and report how fresh the realtime mart is."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.kafka.consumer import ZoneConsumer
from ingest.output import say
from ingest.settings import Settings
from ingest.warehouse.lake import connect
from ingest.warehouse.writer import warehouse_writer

if TYPE_CHECKING:
    from ingest.load.loader import LoadReport


@dataclass
class CycleReport:
    cycle: int
    consumed: int
    loaded_rows: int
    load_seconds: float
    dbt_seconds: float
    freshness_p50_seconds: float | None
    freshness_max_seconds: float | None
    lag: int

    def line(self) -> str:
        fresh = ("no new events" if self.freshness_max_seconds is None else
                 f"freshness p50 {self.freshness_p50_seconds:.1f}s max {self.freshness_max_seconds:.1f}s")
        return (f"cycle {self.cycle}: consumed {self.consumed:,}, loaded {self.loaded_rows:,} "
                f"in {self.load_seconds:.1f}s, dbt {self.dbt_seconds:.1f}s, {fresh}, lag {self.lag:,}")


def cycle_freshness(settings: Settings, load_id: str | None) -> tuple[float | None, float | None]:
    """Seconds from each event of this cycle's load to now, when its minute is in the realtime mart.
    The event's timestamp is taken as its production time (producers stamp events as they happen)."""
    if load_id is None:
        return None, None
    with connect(settings, read_only=True) as warehouse:
        row = warehouse.execute(
            """
            select
                quantile_cont(epoch(now() - cleaned.ts), 0.5),
                max(epoch(now() - cleaned.ts))
            from silver.events_cleaned as cleaned
            inner join gold.course_activity_realtime as mart
                on mart.course_id = cleaned.course_id and mart.minute_start = date_trunc('minute', cleaned.ts)
            where cleaned.load_id = ?
            """, [load_id]).fetchall()[0]
    return (None, None) if row[0] is None else (float(row[0]), float(row[1]))


@dataclass
class CycleWrites:
    report: LoadReport | None  # None: nothing landed
    load_seconds: float
    dbt_seconds: float
    built: bool | None = None  # None: no new rows, no build


def load_and_build(landed: list[str], settings: Settings, build_pending: bool = False) -> CycleWrites:
    """One cycle's writes: load the landed files, then build the realtime chain when rows came in
    or when the last cycle's build failed (`build_pending`): its rows are loaded but not yet built,
    and a quiet stream may bring no new rows for a long time.

    The cycle is one writer from its load to the end of its build (the warehouse's writer
    lock, which dbt, the loader and the orchestrator's steps take too): an orchestrated run or
    a backfill waits for the cycle, and the cycle for them, instead of interleaving its load
    and its build with theirs."""
    from ingest.load.loader import load_files
    from ingest.warehouse.dbt_runner import run_dbt

    with warehouse_writer(settings, "stream cycle"):
        started = time.monotonic()
        report = load_files(landed, settings, show_progress=False) if landed else None
        writes = CycleWrites(report, time.monotonic() - started, 0.0)
        started = time.monotonic()
        if build_pending or (report is not None and report.rows):
            built = run_dbt(["build", "-s", "+tag:realtime", "--indirect-selection", "cautious",
                             "--exclude", "test_type:unit", "--quiet"],
                            settings, capture=True)
            writes.built = built.returncode == 0
            if not writes.built:
                say("stream", f"dbt build failed, retrying next cycle:\n{built.stdout[-3000:]}")
        writes.dbt_seconds = time.monotonic() - started
    return writes


def run_stream(consumer: ZoneConsumer, settings: Settings, interval: float, cycles: int | None = None) -> int:
    zone_root = consumer.zone.local_path("")

    def location(key: str) -> str:
        return str(zone_root / key) if zone_root is not None else f"{consumer.zone.url.rstrip('/')}/{key}"

    consumer.start()
    cycle = 0
    processing = 0.0
    build_pending = False
    try:
        while not consumer.stopping and (cycles is None or cycle < cycles):
            cycle += 1
            # A cycle starts every `interval` seconds: the load and build of the last one eat
            # into this one's consuming, or an event could wait two cycles plus two builds.
            consumed = consumer.poll_for(max(1.0, interval - processing))
            consumer.flush_all()
            landed = [location(key) for key in consumer.take_written_keys()]
            writes = load_and_build(landed, settings, build_pending)
            build_pending = writes.built is False
            report, load_seconds, dbt_seconds = writes.report, writes.load_seconds, writes.dbt_seconds
            processing = load_seconds + dbt_seconds
            p50, worst = cycle_freshness(settings, report.load_id if report and report.rows else None)
            say("stream", CycleReport(cycle, consumed, report.rows if report else 0, load_seconds, dbt_seconds,
                                      p50, worst, consumer.refresh_lag()).line())
    finally:
        consumer.close()
    return 0
