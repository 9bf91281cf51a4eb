"""`make bench`: a day of events at a given size, loaded and built, then one more hour, on two shapes of day.

Shapes: `school` (the project's generator: a few thousand students per million events,
busy school hours, ~1% dirty lines) and `even` (bench/even_day.py, written independently:
200k students per 10M events, sessions spread evenly over 24 h, wide lines, no dirty
ones). For each shape it measures, each step as its own process: the floor (DuckDB reading the same
files once and writing Parquet, nothing else), the load, the full `dbt build` (with
tests), and an extra hour of events loaded and built incrementally on top. Reports wall
seconds, events per second, peak memory and the ratio to the floor, and where each dbt
build's time went (seconds per kind of node, the slowest nodes); prints them and writes
bench/results.json.

    .venv/bin/python bench/run.py --events 10000000 [--shape school|even|all]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
PYTHON = sys.executable
DBT = str(Path(sys.executable).parent / "dbt")
HOUR_SHARE = 0.042  # an hour of the day's traffic: 420k of 10M
EVEN_STUDENTS_PER_EVENT = 0.02  # the even shape: 200k students for 10M events


@dataclass
class Step:
    name: str
    seconds: float
    events: int
    peak_memory_mb: float
    ratio_to_floor: float | None = None
    dbt_profile: dict[str, Any] | None = None

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


def run_step(name: str, command: list[str], env: dict[str, str], events: int) -> Step:
    """Run one step as a child process; its rusage gives the peak memory of it and its children."""
    print(f"==> {name}: {' '.join(command[:6])}{' ...' if len(command) > 6 else ''}", flush=True)
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"bench step '{name}' failed with exit code {os.waitstatus_to_exitcode(status)}")
    return Step(name=name, seconds=round(seconds, 2), events=events, peak_memory_mb=round(usage.ru_maxrss / 1024, 1))


def read_dbt_profile(run_results: Path = PROJECT_DIR / "target" / "run_results.json",
                     slowest: int = 10) -> dict[str, Any]:
    """Where a dbt build's time went, from its run_results.json: seconds per kind of node and the slowest nodes."""
    results = json.loads(run_results.read_text())["results"]
    per_kind: dict[str, dict[str, float]] = {}
    for result in results:
        kind = result["unique_id"].split(".")[0]
        totals = per_kind.setdefault(kind, {"nodes": 0, "seconds": 0.0})
        totals["nodes"] += 1
        totals["seconds"] = round(totals["seconds"] + result["execution_time"], 2)
    ranked = sorted(results, key=lambda result: result["execution_time"], reverse=True)[:slowest]
    return {"per_kind": per_kind,
            "slowest": [{"node": result["unique_id"].split(".", 2)[-1],
                         "seconds": round(result["execution_time"], 2)} for result in ranked]}


def print_profile(step: Step) -> None:
    if not step.dbt_profile:
        return
    kinds = ", ".join(f"{kind} {totals['nodes']:.0f} nodes {totals['seconds']:.1f}s"
                      for kind, totals in step.dbt_profile["per_kind"].items())
    print(f"  {step.name}: {kinds}; slowest: " + ", ".join(
        f"{node['node']} {node['seconds']:.1f}s" for node in step.dbt_profile["slowest"]))


def count_lines(folder: Path) -> int:
    import duckdb

    pattern = str(folder / "**" / "*.jsonl.gz")
    with duckdb.connect() as connection:
        return int(connection.execute(
            f"select count(*) from read_csv('{pattern}', columns = {{'line': 'VARCHAR'}}, header = false, "
            "delim = chr(1), quote = '', escape = '', auto_detect = false, strict_mode = false, "
            "null_padding = true)").fetchall()[0][0])


def events_per_student(day: date, folder: Path) -> float:
    """Events a student makes on that day, from a small sample with the same generator."""
    from ingest.sample.generate import GenerateConfig, generate

    sample = 4000
    report = generate(GenerateConfig(students=sample, days=1, start=day, seed=99, out=folder), progress=False)
    shutil.rmtree(folder, ignore_errors=True)
    return report.events / sample


def floor_command(raw: Path, out: Path) -> list[str]:
    """DuckDB reads every line of the files once and writes them to Parquet: the least any load can do."""
    code = (
        "import duckdb, sys; c = duckdb.connect(); c.execute('set enable_progress_bar = false'); "
        f"c.execute(\"copy (select * from read_csv('{raw}/**/*.jsonl.gz', columns = {{'line': 'VARCHAR'}}, "
        "header = false, delim = chr(1), quote = '', escape = '', auto_detect = false, strict_mode = false, "
        f"null_padding = true, filename = true)) to '{out}' (format parquet)\")"
    )
    return [PYTHON, "-c", code]


def measure_floor(args: argparse.Namespace, env: dict[str, str], events: int) -> Step:
    """The floor's median over --floor-runs runs: on a shared machine one run swung from 22 to 48 s, and every
    ratio divides by it."""
    runs = [run_step(f"floor (DuckDB read + Parquet write) {run}/{args.floor_runs}",
                     floor_command(args.workdir / "day", args.workdir / "floor.parquet"), env, events)
            for run in range(1, args.floor_runs + 1)]
    print("floor runs (s): " + ", ".join(f"{run.seconds:.1f}" for run in runs), flush=True)
    median = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    return Step(name=f"floor (median of {len(runs)})", seconds=median.seconds, events=events,
                peak_memory_mb=max(run.peak_memory_mb for run in runs))


def generate_school_day(args: argparse.Namespace, env: dict[str, str], day: date) -> tuple[Step, Step]:
    """The project's generator: a school day (busy school hours, ~1% dirty lines), then its busiest next hour."""
    students = max(1, round(args.events / events_per_student(day, args.workdir / "calibration")))
    generate = run_step("generate day", [PYTHON, "-m", "ingest", "generate", "--students", str(students), "--days", "1",
                                         "--start", day.isoformat(), "--seed", "1", "--out", str(args.workdir / "day")],
                        env, 0)
    generate.events = count_lines(args.workdir / "day")
    hour_events = args.hour_events or round(args.events * HOUR_SHARE)
    # The extra hour: the next day's busiest hour for a population sized to give hour_events.
    hour_students = max(1, round(students * hour_events / (generate.events / 24 * 1.4)))
    generate_hour = run_step("generate hour", [PYTHON, "-m", "ingest", "generate", "--students", str(hour_students),
                                               "--start", (day + timedelta(days=1)).isoformat(), "--start-hour", "15",
                                               "--hours", "1", "--seed", "2", "--out", str(args.workdir / "hour")],
                             env, 0)
    generate_hour.events = count_lines(args.workdir / "hour")
    return generate, generate_hour


def generate_even_day(args: argparse.Namespace, env: dict[str, str], day: date) -> tuple[Step, Step]:
    """bench/even_day.py: many students, sessions spread evenly over 24 h, wide lines, no dirty ones; then hour 0
    of the next day for the same students."""
    students = max(1, round(args.events * EVEN_STUDENTS_PER_EVENT))
    common = [PYTHON, str(PROJECT_DIR / "bench" / "even_day.py"), "--events", str(args.events),
              "--students", str(students)]
    generate = run_step("generate day", [*common, "--day", day.isoformat(), "--out", str(args.workdir / "day")],
                        env, 0)
    generate.events = count_lines(args.workdir / "day")
    generate_hour = run_step("generate hour", [*common, "--day", (day + timedelta(days=1)).isoformat(), "--hours", "1",
                                               "--seed", "2", "--out", str(args.workdir / "hour")], env, 0)
    generate_hour.events = count_lines(args.workdir / "hour")
    return generate, generate_hour


SHAPES = {"school": generate_school_day, "even": generate_even_day}


def run_shape(shape: str, args: argparse.Namespace) -> dict[str, Any]:
    shutil.rmtree(args.workdir, ignore_errors=True)
    args.workdir.mkdir(parents=True)
    warehouse = args.workdir / "bench.sqlite"
    env = dict(os.environ, WAREHOUSE_PATH=str(warehouse),
               DBT_PROFILES_DIR=str(PROJECT_DIR / "profiles"))
    # A weekday (weekends are quieter), recent enough that no event is out of range.
    day = datetime.now(UTC).date() - timedelta(days=2)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    print(f"\n### shape: {shape}", flush=True)
    generate, generate_hour = SHAPES[shape](args, env, day)
    day_events, hour_lines = generate.events, generate_hour.events
    steps: list[Step] = [generate, generate_hour]

    floor = measure_floor(args, env, day_events)
    steps.append(floor)
    load = run_step("load day", [PYTHON, "-m", "ingest", "files", "-q", str(args.workdir / "day")], env, day_events)
    # Data tests run on every build; unit tests check logic, not data, and belong to CI
    # (`make test`), as dbt recommends, so production-style builds exclude them.
    production_build = [DBT, "build", "--quiet", "--exclude", "test_type:unit"]
    build = run_step("dbt build day (with data tests)", production_build, env, day_events)
    build.dbt_profile = read_dbt_profile()
    load_hour = run_step("load hour", [PYTHON, "-m", "ingest", "files", "-q", str(args.workdir / "hour")], env,
                         hour_lines)
    build_hour = run_step("dbt build hour (incremental, with data tests)", production_build, env, hour_lines)
    build_hour.dbt_profile = read_dbt_profile()
    steps += [load, build, load_hour, build_hour]
    for step in steps:
        step.ratio_to_floor = round(step.seconds / floor.seconds, 2) if floor.seconds else None

    day_total = load.seconds + build.seconds
    hour_total = load_hour.seconds + build_hour.seconds
    peak = max(step.peak_memory_mb for step in steps[2:])
    checks = {
        "day_within_8x_floor": day_total <= 8 * floor.seconds,
        "hour_within_15_percent_of_day": hour_total <= 0.15 * day_total,
        "peak_memory_under_8_gb": peak < 8 * 1024,
    }
    print()
    print(f"{'step':<42} {'seconds':>9} {'events':>12} {'events/s':>11} {'peak MB':>9} {'x floor':>8}")
    for step in steps:
        print(f"{step.name:<42} {step.seconds:>9.1f} {step.events:>12,} {step.events_per_second:>11,.0f} "
              f"{step.peak_memory_mb:>9,.0f} {step.ratio_to_floor or 0:>8.2f}")
    print("\nwhere the dbt time went (execution seconds per node, from target/run_results.json):")
    for step in (build, build_hour):
        print_profile(step)
    print(f"\n[{shape}] day (load + build + tests): {day_total:.1f}s = "
          f"{day_total / floor.seconds:.2f}x floor (target <= 8x)")
    print(f"[{shape}] extra hour (load + build + tests): {hour_total:.1f}s = "
          f"{100 * hour_total / day_total:.1f}% of the day (target <= 15%)")
    print(f"[{shape}] peak memory: {peak:,.0f} MB (target < 8,192 MB)")
    print(f"[{shape}] targets met: {checks}", flush=True)
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return {
        "events_day": day_events, "events_hour": hour_lines,
        "steps": [dict(asdict(step), events_per_second=round(step.events_per_second)) for step in steps],
        "day_load_plus_build_seconds": round(day_total, 2), "day_ratio_to_floor": round(day_total / floor.seconds, 2),
        "hour_load_plus_build_seconds": round(hour_total, 2), "hour_share_of_day": round(hour_total / day_total, 3),
        "peak_memory_mb": peak, "targets_met": checks,
    }


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the day (default 10,000,000)")
    parser.add_argument("--hour-events", type=int,
                        help="school shape: events in the extra hour (default 4.2%% of --events)")
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all",
                        help="school (the project's generator), even (bench/even_day.py) or all (default)")
    parser.add_argument("--workdir", type=Path, default=PROJECT_DIR / "bench" / "work", help="scratch folder")
    parser.add_argument("--results", type=Path, default=PROJECT_DIR / "bench" / "results.json")
    parser.add_argument("--floor-runs", type=positive_int, default=3,
                        help="runs of the floor; the median is the one every ratio divides by (default 3)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder afterwards")
    args = parser.parse_args()

    shapes = list(SHAPES) if args.shape == "all" else [args.shape]
    previous = json.loads(args.results.read_text()) if args.results.exists() else {}
    taken_at = datetime.now(UTC).isoformat(timespec="seconds")
    measured = {shape: run_shape(shape, args) for shape in shapes}
    results = {
        "taken_at": taken_at,
        "machine": {"cpus": os.cpu_count(),
                    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
                    "platform": platform.platform(), "python": platform.python_version()},
        # A run of one shape keeps the other shape's last figures.
        "shapes": {**previous.get("shapes", {}), **measured},
    }
    args.results.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {args.results}")
    met = [all(measured[shape]["targets_met"].values()) for shape in shapes]
    return 0 if all(met) else 1


if __name__ == "__main__":
    sys.exit(main())
