"""Where `stg_raw__events` spends its time: parsing, typing, or writing Parquet.

Takes a sample of raw.events from a built warehouse (e.g. `bench/run.py --keep`'s) into
memory, then runs the model's compiled full-refresh SQL on it three ways: keeping one
column (the scan, the JSON parse with its guards, the student hash and the erasure filter
still run: the filter needs the hash), keeping every column in an in-memory table, and
writing that table to Parquet. Each figure is the best of `--runs`. Usage:

    WAREHOUSE_PATH=/tmp/bw/bench.sqlite .venv/bin/python bench/staging_cost.py [--sample 2000000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ingest.settings import PROJECT_DIR, Settings  # noqa: E402
from ingest.warehouse.dbt_runner import run_dbt  # noqa: E402
from ingest.warehouse.lake import connect  # noqa: E402
from ingest.warehouse.student_hash_salt import salt_from_environment  # noqa: E402

STAGING_SQL = PROJECT_DIR / "target/compiled/student_behavior/models/staging/raw/stg_raw__events.sql"


def compiled_staging_sql(settings: Settings) -> str:
    done = run_dbt(["compile", "--quiet", "--full-refresh", "--select", "stg_raw__events"], settings, capture=True)
    if done.returncode != 0:
        raise SystemExit(f"dbt compile failed:\n{done.stdout[-3000:]}")
    return STAGING_SQL.read_text()


def best_of(runs: int, step: Callable[[], object]) -> float:
    timings = []
    for _ in range(runs):
        started = time.monotonic()
        step()
        timings.append(time.monotonic() - started)
    return min(timings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sample", type=int, default=2_000_000, help="raw lines to sample (default 2,000,000)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each measure; the best counts (default 2)")
    args = parser.parse_args()

    settings = Settings.from_env()
    sql = compiled_staging_sql(settings).replace('"lake"."raw"."events"', "sampled_raw_events")
    # The session dbt's profile gives its models (profiles/profiles.yml, settings).
    connection = connect(settings, read_only=True, memory_limit=os.environ.get("DUCKDB_MEMORY_LIMIT", "5GB"),
                         preserve_insertion_order=False)
    connection.execute("set TimeZone = 'UTC'")
    connection.execute("set variable student_hash_salt = ?", [salt_from_environment()])
    connection.execute(
        f"create temp table sampled_raw_events as select * from raw.events using sample {args.sample} rows")
    lines = connection.execute("select count(*) from sampled_raw_events").fetchall()[0][0]
    print(f"{lines:,} raw lines sampled from {settings.warehouse_path}", flush=True)

    parse_only = best_of(args.runs, lambda: connection.execute(
        f"create or replace temp table staged as select line_number from ({sql})"))
    print(f"scan, parse, hash and erasure filter (one column kept): {parse_only:.1f} s", flush=True)
    every_column = best_of(args.runs, lambda: connection.execute(f"create or replace temp table staged as {sql}"))
    print(f"every column, into memory: {every_column:.1f} s", flush=True)
    with tempfile.TemporaryDirectory() as scratch:
        parquet = Path(scratch) / "staged.parquet"
        write = best_of(args.runs, lambda: connection.execute(f"copy staged to '{parquet}' (format parquet)"))
    print(f"writing those rows to Parquet: {write:.1f} s", flush=True)
    per_10m = 10_000_000 / lines
    print(f"per 10M lines: parse {parse_only * per_10m:.0f} s, every column {every_column * per_10m:.0f} s, "
          f"write {write * per_10m:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
