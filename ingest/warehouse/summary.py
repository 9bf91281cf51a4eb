"""A short report of what the warehouse holds: rows per layer, rejections, daily actives."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from ingest.settings import Settings
from ingest.warehouse.lake import connect

LAYER_RELATIONS = (
    ("raw", "events"),
    ("silver", "events_cleaned"),
    ("silver", "events_rejected"),
    ("silver", "events_duplicates"),
    ("silver", "sessions"),
    ("gold", "student_daily_activity"),
    ("gold", "chapter_engagement"),
    ("gold", "question_attempts_summary"),
    ("feature_store", "student_features"),
)


@dataclass(frozen=True)
class Summary:
    row_counts: list[tuple[str, int | None]]
    rejected_by_reason: list[tuple[str, int]]
    daily_active: list[tuple[str, int, int, float]]


def _count(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> int | None:
    exists = connection.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()[0][0]
    if not exists:
        return None
    return int(connection.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0])


def read_summary(settings: Settings, last_days: int = 7) -> Summary:
    with connect(settings, read_only=True) as connection:
        counts = [(f"{schema}.{table}", _count(connection, schema, table)) for schema, table in LAYER_RELATIONS]
        reasons: list[tuple[str, int]] = []
        active: list[tuple[str, int, int, float]] = []
        if dict(counts).get("silver.events_rejected") is not None:
            reasons = [(str(r), int(n)) for r, n in connection.execute(
                "select reason, count(*) from silver.events_rejected group by reason order by 2 desc, 1"
            ).fetchall()]
        if dict(counts).get("gold.student_daily_activity") is not None:
            active = [(str(d), int(s), int(n), float(m or 0)) for d, s, n, m in connection.execute(
                """
                select date, count(*) as students, sum(total_sessions) as sessions,
                       sum(total_time_spent_seconds) / nullif(sum(total_sessions), 0) / 60 as minutes
                from gold.student_daily_activity
                group by date order by date desc limit ?
                """,
                [last_days],
            ).fetchall()]
    return Summary(counts, reasons, sorted(active))


def format_summary(summary: Summary) -> str:
    lines = ["Rows per layer:"]
    for name, count in summary.row_counts:
        lines.append(f"  {name:<30} {'(not built)' if count is None else f'{count:>12,}'}")
    lines.append("Rejected records by reason:")
    for reason, count in summary.rejected_by_reason or [("(none)", 0)]:
        lines.append(f"  {reason:<30} {count:>12,}")
    lines.append("Daily active students (last days):")
    lines.append(f"  {'date':<12} {'students':>9} {'sessions':>9} {'avg min/session':>16}")
    for day, students, sessions, minutes in summary.daily_active:
        lines.append(f"  {day:<12} {students:>9,} {sessions:>9,} {minutes:>16.1f}")
    return "\n".join(lines)
