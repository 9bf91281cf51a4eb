"""Reading the warehouse without ever blocking a writer: SQL as a table, CSV or JSON, and its history.

A reader attaches the lake read-only and sees the last committed snapshot (or the one it
asks for with `at`), whatever loads and builds are committing meanwhile.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

from ingest.errors import InputError
from ingest.settings import Settings
from ingest.warehouse.lake import connect

FORMATS = ("table", "csv", "json")


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    snapshot: int


def run_query(settings: Settings, sql: str, at: int | None = None) -> Result:
    """Rows of `sql` at the latest snapshot, or at snapshot `at`."""
    import duckdb

    with connect(settings, read_only=True, snapshot=at) as connection:
        try:
            cursor = connection.execute(sql)
        except duckdb.Error as error:
            raise InputError(f"the query failed: {error}") from None
        columns = [column[0] for column in cursor.description or []]
        rows = cursor.fetchall() if columns else []
        snapshot = int(connection.execute("select id from lake.current_snapshot()").fetchone()[0])  # type: ignore[index]
    return Result(columns, rows, snapshot)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _text(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(_plain(value))


def format_result(result: Result, output: str) -> str:
    if output == "json":
        return orjson.dumps([dict(zip(result.columns, map(_plain, row), strict=True)) for row in result.rows],
                            option=orjson.OPT_INDENT_2).decode()
    if output == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([["" if value is None else _plain(value) for value in row] for row in result.rows])
        return buffer.getvalue().rstrip("\n")
    cells = [[_text(value) for value in row] for row in result.rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(result.columns)]
    lines = ["  ".join(name.ljust(width) for name, width in zip(result.columns, widths, strict=True)),
             "  ".join("-" * width for width in widths)]
    lines += ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) for row in cells]
    lines.append(f"({len(result.rows):,} row{'s' if len(result.rows) != 1 else ''}, snapshot {result.snapshot})")
    return "\n".join(lines)


def snapshots(settings: Settings, limit: int) -> Result:
    """The newest snapshots: when, what changed, and which load or dbt run committed it."""
    return run_query(settings, f"""
        select
            snapshot_id,
            strftime(snapshot_time, '%Y-%m-%dT%H:%M:%SZ') as committed_at,
            coalesce(author, '') as author,
            coalesce(commit_message, '') as message,
            array_to_string(map_keys(changes), ', ') as changes
        from lake.snapshots()
        order by snapshot_id desc
        limit {int(limit)}
    """)
