"""`python -m ingest generate`."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ingest.cli.arguments import positive
from ingest.settings import Settings


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from None


def _default_start(days: int) -> date:
    """The sample ends yesterday (UTC), so no event lies in the future of its load."""
    return datetime.now(UTC).date() - timedelta(days=days)


def _cmd_generate(args: argparse.Namespace, _settings: Settings) -> int:
    from ingest.sample.generate import GenerateConfig, generate
    from ingest.sample.roster import ROSTER_FOLDER, demo_roster, write_roster

    days = args.days if args.hours is None else max(1, -(-(args.start_hour + int(args.hours + 0.999)) // 24))
    config = GenerateConfig(students=args.students, days=days, start=args.start or _default_start(days),
                            seed=args.seed, out=Path(args.out), workers=args.workers,
                            start_hour=args.start_hour, hours=args.hours)
    report = generate(config, progress=not args.quiet)
    roster = write_roster(demo_roster(args.students, args.seed), Path(args.out) / ROSTER_FOLDER)
    window_start, window_end = config.window()
    print(f"generated {report.events:,} events ({report.dirty:,} dirty, {report.duplicates:,} duplicates) "
          f"for {args.students:,} students from {window_start:%Y-%m-%d %H:%M} to {window_end:%Y-%m-%d %H:%M} UTC "
          f"into {len(report.files)} files under {args.out}; the demo roster in {roster[0].parent}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    gen = commands.add_parser("generate", help="write synthetic events to a raw-zone folder",
                              description="Write deterministic synthetic events following the event contract "
                                          "to OUT/<topic>/date=YYYY-MM-DD/part-*.jsonl.gz "
                                          "(topics clickstream, video, quiz), with about 1% dirty records "
                                          "covering every rejection reason and 0.5% duplicates; and a demo roster "
                                          "(schools, classes, enrollments) for the same students in OUT/_roster/, "
                                          "for `python -m ingest roster load`.")
    gen.add_argument("--students", type=positive, default=2000, help="number of students (default 2000)")
    gen.add_argument("--days", type=positive, default=14, help="number of days (default 14)")
    gen.add_argument("--start", type=_date, help="first day, YYYY-MM-DD (default: DAYS days before today, UTC)")
    gen.add_argument("--seed", type=int, default=42, help="random seed; same seed, same files (default 42)")
    gen.add_argument("--out", default="data/raw", help="output folder (default data/raw)")
    gen.add_argument("--start-hour", type=int, default=0, choices=range(24), metavar="H",
                     help="with --hours: the window starts at this UTC hour of --start (default 0)")
    gen.add_argument("--hours", type=float,
                     help="keep only events in a window of this many hours (an hourly batch); overrides --days")
    gen.add_argument("--workers", type=positive, help="worker processes (default 2)")
    gen.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    gen.set_defaults(func=_cmd_generate)
