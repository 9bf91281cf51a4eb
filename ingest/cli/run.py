"""`make run`: generate a sample, load it, build it, and report, timing each step."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar

from ingest.warehouse.dbt_runner import PROJECT_DIR, run_dbt_logged
from ingest.sample.generate import GenerateConfig, generate
from ingest.load.loader import load_files
from ingest.settings import Settings
from ingest.warehouse.summary import format_summary, read_summary

T = TypeVar("T")


def _timed(name: str, timings: list[tuple[str, float]], step: Callable[[], T]) -> T:
    print(f"==> {name}", flush=True)
    started = time.monotonic()
    result = step()
    timings.append((name, time.monotonic() - started))
    return result


def run_demo(students: int, days: int, seed: int, out: Path, settings: Settings) -> int:
    timings: list[tuple[str, float]] = []
    start = datetime.now(timezone.utc).date() - timedelta(days=days)
    config = GenerateConfig(students=students, days=days, start=start, seed=seed, out=out)
    generated = _timed("generate", timings, lambda: generate(config))
    print(f"    {generated.events:,} events ({generated.dirty:,} dirty, {generated.duplicates:,} duplicates) "
          f"in {len(generated.files)} files under {out}")
    loaded = _timed("load", timings, lambda: load_files([str(out)], settings))
    print(f"    {loaded.rows:,} new lines from {len(loaded.files_loaded)} files, "
          f"{len(loaded.files_skipped)} files already loaded")
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
