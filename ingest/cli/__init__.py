"""`python -m ingest ...`: one subcommand per module, thin over plain functions."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ingest import __version__
from ingest.cli import api as api_cli
from ingest.cli import geoip as geoip_cli
from ingest.cli import kafka as kafka_cli
from ingest.load import watch
from ingest.errors import InputError, RawZoneError
from ingest.settings import Settings
from ingest.warehouse.busy import lock_holder, warehouse_busy_message

if TYPE_CHECKING:
    from ingest.load.loader import LoadReport


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _default_start(days: int) -> date:
    """The sample ends yesterday (UTC), so no event lies in the future of its load."""
    return datetime.now(timezone.utc).date() - timedelta(days=days)


def _cmd_generate(args: argparse.Namespace) -> int:
    from ingest.sample.generate import GenerateConfig, generate

    days = args.days if args.hours is None else max(1, -(-(args.start_hour + int(args.hours + 0.999)) // 24))
    config = GenerateConfig(students=args.students, days=days, start=args.start or _default_start(days),
                            seed=args.seed, out=Path(args.out), workers=args.workers,
                            start_hour=args.start_hour, hours=args.hours)
    report = generate(config, progress=not args.quiet)
    window_start, window_end = config.window()
    print(f"generated {report.events:,} events ({report.dirty:,} dirty, {report.duplicates:,} duplicates) "
          f"for {args.students:,} students from {window_start:%Y-%m-%d %H:%M} to {window_end:%Y-%m-%d %H:%M} UTC "
          f"into {len(report.files)} files under {args.out}")
    return 0


def _cmd_files(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    paths = list(args.paths)
    if args.from_raw_zone:
        from ingest.zone.raw_zone_cache import area_location

        paths.append(area_location(args.from_raw_zone))
    if not paths:
        raise InputError("name files, folders or s3:// URLs to load, or --from-raw-zone AREA")
    from ingest.load.loader import load_files

    report = load_files(paths, settings, show_progress=not args.quiet)
    print_load_report(report, settings)
    return 1 if report.files_failed else 0


def print_load_report(report: LoadReport, settings: Settings) -> None:
    if report.files_skipped and logging.getLogger().isEnabledFor(logging.INFO):
        for path, previous in report.files_skipped:
            same = "" if path == previous else f" (same content as {previous})"
            print(f"skipped {path}: already loaded{same}")
    elif report.files_skipped:
        print(f"skipped {len(report.files_skipped):,} files whose content was loaded before (-v lists them)")
    for _, why in report.files_failed:
        print(f"failed: {why} Nothing of it was loaded; fix or replace the file and run again.", file=sys.stderr)
    if report.files_loaded:
        mb = report.bytes_read / 1e6
        print(f"loaded {report.rows:,} lines from {len(report.files_loaded)} files ({mb:,.1f} MB) "
              f"into raw.events of {settings.warehouse_path} in {report.seconds:.1f}s "
              f"({report.rows_per_second:,.0f} lines/s), load id {report.load_id}")
    elif not report.files_failed:
        print("nothing new to load")


def _cmd_run(args: argparse.Namespace) -> int:
    from ingest.cli.run import run_demo

    return run_demo(students=args.students, days=args.days, seed=args.seed, out=Path(args.out),
                    settings=Settings.from_env())


def _cmd_summary(args: argparse.Namespace) -> int:
    from ingest.warehouse.summary import print_summary

    print_summary(Settings.from_env(), last_days=args.last_days)
    return 0


def version_text() -> str:
    from importlib.metadata import version

    tools = ", ".join(f"{name} {version(name)}" for name in ("dbt-core", "dbt-duckdb", "dlt", "duckdb"))
    return f"student-behavior-elt {__version__} ({tools})"


class _PrintVersion(argparse.Action):
    """argparse's own version action wraps the text at the terminal width."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        print(version_text())
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Generate sample LMS events and land raw event files in the warehouse "
                    "(DuckDB at $WAREHOUSE_PATH, default warehouse/student_behavior.duckdb).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("--version", action=_PrintVersion, nargs=0, help="print the version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = commands.add_parser("generate", help="write synthetic events to a raw-zone folder",
                              description="Write deterministic synthetic events following the event contract "
                                          "to OUT/<topic>/date=YYYY-MM-DD/part-*.jsonl.gz "
                                          "(topics clickstream, video, quiz), with about 1% dirty records "
                                          "covering every rejection reason and 0.5% duplicates.")
    gen.add_argument("--students", type=_positive, default=2000, help="number of students (default 2000)")
    gen.add_argument("--days", type=_positive, default=14, help="number of days (default 14)")
    gen.add_argument("--start", type=_date, help="first day, YYYY-MM-DD (default: DAYS days before today, UTC)")
    gen.add_argument("--seed", type=int, default=42, help="random seed; same seed, same files (default 42)")
    gen.add_argument("--out", default="data/raw", help="output folder (default data/raw)")
    gen.add_argument("--start-hour", type=int, default=0, choices=range(24), metavar="H",
                     help="with --hours: the window starts at this UTC hour of --start (default 0)")
    gen.add_argument("--hours", type=float,
                     help="keep only events in a window of this many hours (an hourly batch); overrides --days")
    gen.add_argument("--workers", type=_positive, help="worker processes (default 2)")
    gen.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    gen.set_defaults(func=_cmd_generate)

    files = commands.add_parser("files", help="load .jsonl/.ndjson/.json/.csv(.gz) files into raw.events",
                                description="Load every .jsonl, .ndjson or .json file (optionally gzipped) "
                                            "under the given files or folders into raw.events, one row per "
                                            "line as its exact text plus lineage. A .csv file (header row "
                                            "naming the event fields) lands one JSON line per record. Files "
                                            "already loaded (same content) are skipped.")
    files.add_argument("paths", nargs="*", metavar="PATH",
                       help="files, folders, or s3://bucket/prefix URLs (objects are cached beside the warehouse)")
    files.add_argument("--from-raw-zone", metavar="AREA",
                       help="also load the AREA folder (e.g. api) of $RAW_ZONE_URL (default data/raw_zone)")
    files.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    files.set_defaults(func=_cmd_files)

    run = commands.add_parser("run", help="generate a sample, load it, dbt build, print a summary (make run)",
                              description="The whole pipeline on a sample, as `make run` does: generate "
                                          "STUDENTS x DAYS of events ending yesterday into OUT, load them into "
                                          "raw.events, run `dbt build` (its full output goes to "
                                          "logs/dbt-build.log; a progress line is shown), then print rows per "
                                          "layer, rejections, daily active students and step timings.")
    run.add_argument("--students", type=_positive, default=2000, help="number of students (default 2000)")
    run.add_argument("--days", type=_positive, default=14, help="number of days (default 14)")
    run.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    run.add_argument("--out", default="data/raw", help="raw zone folder (default data/raw)")
    run.set_defaults(func=_cmd_run)

    summary = commands.add_parser("summary", help="rows per layer, rejections, daily active students",
                                  description="Print what the warehouse at $WAREHOUSE_PATH holds: rows per "
                                              "layer, rejected records by reason and the last days' active "
                                              "students, sessions and average session length. Read-only.")
    summary.add_argument("--last-days", type=_positive, default=7, help="days of activity to show (default 7)")
    summary.set_defaults(func=_cmd_summary)

    geoip_cli.register(commands)
    watch.register(commands)
    api_cli.register(commands)
    kafka_cli.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except (InputError, RawZoneError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Exception as error:
        holder = lock_holder(error)
        if holder is None:
            raise
        print(f"error: {warehouse_busy_message(Settings.from_env(), holder)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
