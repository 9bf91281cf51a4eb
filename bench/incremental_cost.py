"""How the cost of an hourly incremental run grows: with the new data, not the history.

For each history length, builds a warehouse over that many days of a 2,000-student sample,
then loads one more hour of events for the same students and times the incremental
`dbt run`. Prints a table; `--json` also writes it. Usage:

    .venv/bin/python bench/incremental_cost.py [--days 7 28] [--students 2000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from ingest.load.loader import load_files  # noqa: E402
from ingest.sample.generate import GenerateConfig, generate  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.warehouse.dbt_runner import run_dbt  # noqa: E402
from ingest.warehouse.lake import connect


def _dbt(args: list[str], settings: Settings) -> float:
    started = time.monotonic()
    done = run_dbt([*args, "--quiet"], settings, capture=True)
    if done.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed:\n{done.stdout[-3000:]}")
    return time.monotonic() - started


def measure(days: int, students: int, workdir: Path) -> dict[str, float | int]:
    settings = Settings(warehouse_path=workdir / f"history-{days}.sqlite")
    today = datetime.now(UTC).date()
    start = today - timedelta(days=days)
    generate(GenerateConfig(students=students, days=days - 1, start=start, seed=1, out=workdir / f"raw-{days}"),
             progress=False)
    load_files([str(workdir / f"raw-{days}")], settings, show_progress=False)
    full_seconds = _dbt(["build", "--exclude", "test_type:data"], settings)
    hour = GenerateConfig(students=students, days=1, start=today - timedelta(days=1), seed=1,
                          out=workdir / f"hour-{days}", start_hour=15, hours=1)
    generated = generate(hour, progress=False)
    load_seconds = load_files([str(workdir / f"hour-{days}")], settings, show_progress=False).seconds
    hour_seconds = _dbt(["run"], settings)
    with connect(settings, read_only=True) as connection:
        events = connection.execute("select count(*) from silver.events_cleaned").fetchall()[0][0]
    return {"history_days": days, "warehouse_events": int(events), "full_build_seconds": round(full_seconds, 1),
            "hour_events": generated.events, "hour_load_seconds": round(load_seconds, 1),
            "hour_dbt_run_seconds": round(hour_seconds, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, nargs="+", default=[7, 28], help="history lengths (default 7 28)")
    parser.add_argument("--students", type=int, default=2000, help="students (default 2000)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="incremental-cost-") as folder:
        results = [measure(days, args.students, Path(folder)) for days in args.days]
    header = ("history_days", "warehouse_events", "full_build_seconds", "hour_events", "hour_load_seconds",
              "hour_dbt_run_seconds")
    print(" | ".join(header))
    for row in results:
        print(" | ".join(f"{row[column]:,}" if isinstance(row[column], int) else str(row[column]) for column in header))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
