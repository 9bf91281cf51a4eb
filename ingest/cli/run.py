"""`python -m ingest run` (`make run`: generate a sample, load it, build it, and report,
timing each step) and `python -m ingest summary`."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from ingest.cli.arguments import positive
from ingest.settings import PROJECT_DIR, Settings

T = TypeVar("T")


def _timed(name: str, timings: list[tuple[str, float]], step: Callable[[], T]) -> T:
    print(f"==> {name}", flush=True)
    started = time.monotonic()
    result = step()
    timings.append((name, time.monotonic() - started))
    return result


def run_demo(students: int, days: int, seed: int, out: Path, settings: Settings) -> int:
    from ingest.load.loader import load_files
    from ingest.load.roster import load_roster
    from ingest.sample.generate import GenerateConfig, generate
    from ingest.sample.roster import ROSTER_FOLDER, demo_roster, write_roster
    from ingest.warehouse.dbt_runner import run_dbt_logged
    from ingest.warehouse.summary import format_summary, read_summary

    timings: list[tuple[str, float]] = []
    start = datetime.now(UTC).date() - timedelta(days=days)
    config = GenerateConfig(students=students, days=days, start=start, seed=seed, out=out)
    generated = _timed("generate", timings, lambda: generate(config))
    print(f"    {generated.events:,} events ({generated.dirty:,} dirty, {generated.duplicates:,} duplicates) "
          f"in {len(generated.files)} files under {out}")
    loaded = _timed("load", timings, lambda: load_files([str(out)], settings))
    print(f"    {loaded.rows:,} new lines from {len(loaded.files_loaded)} files, "
          f"{len(loaded.files_skipped)} files already loaded")
    roster_folder = out / ROSTER_FOLDER
    write_roster(demo_roster(students, seed), roster_folder)
    roster = _timed("roster", timings, lambda: load_roster(roster_folder, settings))
    print(f"    {roster.schools} schools, {roster.classes} classes, {roster.teachers} teachers, "
          f"{roster.students:,} students from {roster_folder}")
    log_path = PROJECT_DIR / "logs" / "dbt-build.log"
    code, failures = _timed("dbt build", timings, lambda: run_dbt_logged(["build"], settings, log_path))
    if code != 0:
        print("\n".join(failures))
        print(f"dbt build failed (exit {code}); the whole output is in {log_path}")
        return code
    print(f"    every model, data test and unit test passed; the whole output is in {log_path}")
    print()
    print(format_summary(read_summary(settings)))
    print("Step timings:")
    for name, seconds in timings:
        print(f"  {name:<30} {seconds:>10.1f}s")
    print(f"Warehouse: {settings.warehouse_path}  (query it with duckdb, or run 'make docs' for the lineage site)")
    return 0


def _cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    return run_demo(students=args.students, days=args.days, seed=args.seed, out=Path(args.out), settings=settings)


def _cmd_summary(args: argparse.Namespace, settings: Settings) -> int:
    from ingest.warehouse.summary import format_summary, read_summary

    print(format_summary(read_summary(settings, args.last_days)))
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser("run", help="generate a sample, load it, dbt build, print a summary (make run)",
                              description="The whole pipeline on a sample, as `make run` does: generate "
                                          "STUDENTS x DAYS of events ending yesterday into OUT, load them into "
                                          "raw.events, run `dbt build` (its full output goes to "
                                          "logs/dbt-build.log; a progress line is shown), then print rows per "
                                          "layer, rejections, daily active students and step timings.")
    run.add_argument("--students", type=positive, default=2000, help="number of students (default 2000)")
    run.add_argument("--days", type=positive, default=14, help="number of days (default 14)")
    run.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    run.add_argument("--out", default="data/raw", help="raw zone folder (default data/raw)")
    run.set_defaults(func=_cmd_run)

    summary = commands.add_parser("summary", help="rows per layer, rejections, daily active students",
                                  description="Print what the warehouse at $WAREHOUSE_PATH holds: rows per "
                                              "layer, rejected records by reason and the last days' active "
                                              "students, sessions and average session length. Read-only.")
    summary.add_argument("--last-days", type=positive, default=7, help="days of activity to show (default 7)")
    summary.set_defaults(func=_cmd_summary)
