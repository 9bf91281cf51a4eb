"""`python -m ingest files` and `python -m ingest watch`."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.errors import InputError
from ingest.load.watch import DEFAULT_INTERVAL_SECONDS, DEFAULT_SETTLE_SECONDS, WatchConfig, watch
from ingest.settings import Settings

if TYPE_CHECKING:
    from ingest.load.loader import LoadReport


def _cmd_files(args: argparse.Namespace, settings: Settings) -> int:
    paths = list(args.paths)
    if args.from_raw_zone:
        from ingest.zone.raw_zone_cache import area_location

        paths.append(area_location(args.from_raw_zone, settings))
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
        print(f"skipped {len(report.files_skipped):,} file(s) whose content was loaded before (-v lists them)")
    for _, why in report.files_failed:
        print(f"failed: {why} Nothing of it was loaded; fix or replace the file and run again.", file=sys.stderr)
    if report.files_loaded:
        mb = report.bytes_read / 1e6
        print(f"loaded {report.rows:,} lines from {len(report.files_loaded)} files ({mb:,.1f} MB) "
              f"into raw.events of {settings.warehouse_path} in {report.seconds:.1f}s "
              f"({report.rows_per_second:,.0f} lines/s), load id {report.load_id}")
    elif not report.files_failed:
        print("nothing new to load")


def _cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    config = WatchConfig.for_folder(args.folder, args.archive, interval_seconds=args.interval,
                                    settle_seconds=args.settle, once=args.once)
    return watch(config, settings)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds: {text}")
    return value


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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

    watcher = commands.add_parser(
        "watch", help="load event files dropped into a folder, then archive them",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Load the event files (.jsonl, .ndjson, .json, .csv; optionally .gz) dropped into DIR\n"
                    "or its sub-folders, then move them to the archive, DIR/archive/YYYY-MM-DD/ by default.\n"
                    "A file is taken once it has not changed for --settle seconds; *.tmp, *.part and\n"
                    "dotfiles are never taken, so uploaders should write under such a name and rename when\n"
                    "done (a rename within one file system is atomic).\n"
                    "gzip files are checked whole first. Unreadable files go to DIR/failed/ with an\n"
                    "<name>.error.txt. Ctrl-C or SIGTERM stops after the current batch.",
        epilog="examples:\n"
               "  python -m ingest watch inbox                       # poll every 5s until Ctrl-C\n"
               "  python -m ingest watch inbox --once                # one pass, for cron\n"
               "  python -m ingest watch inbox --archive /data/done --interval 30 --settle 60",
    )
    watcher.add_argument("folder", metavar="DIR", type=Path, help="the folder files are dropped into")
    watcher.add_argument("--archive", metavar="DIR2", type=Path,
                       help="where loaded files go, in date sub-folders (default DIR/archive)")
    watcher.add_argument("--interval", type=_seconds, default=DEFAULT_INTERVAL_SECONDS, metavar="SECONDS",
                       help=f"seconds between passes (default {DEFAULT_INTERVAL_SECONDS:g})")
    watcher.add_argument("--settle", type=_seconds, default=DEFAULT_SETTLE_SECONDS, metavar="SECONDS",
                       help="a file is taken once its size and mtime have not changed for this long "
                            f"(default {DEFAULT_SETTLE_SECONDS:g})")
    watcher.add_argument("--once", action="store_true",
                       help="process what is ready and exit (exit code 1 if a file failed)")
    watcher.set_defaults(func=_cmd_watch)
