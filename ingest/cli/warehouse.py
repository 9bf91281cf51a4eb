"""`python -m ingest query`, `snapshots` and `maintain`: the warehouse for analysts and on-call."""

from __future__ import annotations

import argparse
import sys

from ingest.settings import Settings


def _cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.warehouse.reading import format_result, run_query

    sql = sys.stdin.read() if args.sql == "-" else args.sql
    print(format_result(run_query(settings, sql, at=args.at), args.format))
    return 0


def _cmd_snapshots(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.warehouse.reading import format_result, snapshots

    print(format_result(snapshots(settings, args.limit), args.format))
    return 0


def _cmd_maintain(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.warehouse.maintenance import maintain

    print(maintain(settings, args.retention_days if args.retention_days is not None
                   else settings.snapshot_retention_days).line())
    return 0


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of days: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {text}")
    return value


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    query = commands.add_parser(
        "query", help="run read-only SQL against the warehouse (never blocks the pipeline)",
        description="Run SQL against the warehouse, read-only: it sees the last committed snapshot (or "
                    "--at SNAPSHOT) while loads and builds go on, and never blocks them. Relations are "
                    "schema.table (silver.sessions, gold.student_daily_activity, ...).",
        epilog="example: python -m ingest query \"select date, count(*) from silver.sessions group by 1 order by 1\"")
    query.add_argument("sql", help="the SQL, or - to read it from standard input")
    query.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output (default table)")
    query.add_argument("--at", type=int, metavar="SNAPSHOT", help="read the warehouse as of this snapshot id "
                                                                  "(see `ingest snapshots`)")
    query.set_defaults(func=_cmd_query)

    history = commands.add_parser(
        "snapshots", help="list the warehouse's snapshots: which load or dbt run committed what",
        description="List the newest snapshots of the warehouse (DuckLake): when each was committed, "
                    "by whom ('ingest load' with its load id, 'dbt' with its invocation id and model), "
                    "and what it changed. Any of them can be read with `ingest query --at ID`.")
    history.add_argument("--limit", type=int, default=30, help="how many, newest first (default 30)")
    history.add_argument("--format", choices=["table", "csv", "json"], default="table", help="output (default table)")
    history.set_defaults(func=_cmd_snapshots)

    upkeep = commands.add_parser(
        "maintain", help="compact small files, expire old snapshots, delete unreferenced files",
        description="Upkeep of the warehouse's files: write out inlined rows, merge small adjacent files, "
                    "expire snapshots older than the retention (default $WAREHOUSE_SNAPSHOT_RETENTION_DAYS "
                    "or 7 days), delete the files only they used and files no snapshot knows. A writer: it "
                    "waits for the warehouse's writer lock. Run it daily (a scheduler does).")
    upkeep.add_argument("--retention-days", type=_days, metavar="DAYS",
                        help="keep snapshots (time travel) this many days (default from the settings)")
    upkeep.set_defaults(func=_cmd_maintain)
