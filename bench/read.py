"""Benchmark of the read API (`make bench-read`): p50/p99 latency at a fixed rate (default 200
requests/s, open loop: latency counts from when a request was due, so a stall is not hidden)
over a mix of endpoints and roles, against the warehouse at WAREHOUSE_PATH (build one first:
`make run`, or `make bench` for 10M events). Server and load generator share the machine.
Writes bench/read_results.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from http_client import Connection  # noqa: E402  (bench/, the script's own folder)

from ingest.access.tokens import issue  # noqa: E402
from ingest.api.process import free_port  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.warehouse.lake import connect  # noqa: E402


def request_mix(settings: Settings) -> list[tuple[str, str]]:
    """(path, token) pairs: students, classes, courses, features and freshness, as their roles ask."""
    read = settings.read_api
    with connect(settings, read_only=True) as lake:
        students = [h for (h,) in lake.execute(
            "select distinct student_hash from gold.student_daily_activity using sample 200 rows").fetchall()]
        classes = lake.execute("select class_id, teacher_id, course_id from silver.class_teachers").fetchall()
        (latest,) = lake.execute("select max(date) from gold.student_daily_activity").fetchall()[0]
    if not students:
        raise SystemExit("the warehouse has no student_daily_activity rows: build it first (make run)")
    analyst = issue(read, "analyst", "bench-analyst", ttl_seconds=7200)
    ml = issue(read, "ml_service", "bench-ml", ttl_seconds=7200)
    window = f"start={latest.replace(day=1) if latest.day > 7 else latest}&end={latest}"
    mix = [(f"/v1/students/{h}/activity?{window}", analyst) for h in students]
    mix += [(f"/v1/students/{h}/features?{window}", ml) for h in students[:50]]
    mix += [("/v1/features?limit=100", ml), ("/v1/freshness", analyst)]
    for class_id, teacher, course in classes[:40]:
        token = issue(read, "teacher", teacher, ttl_seconds=7200)
        mix += [(f"/v1/classes/{class_id}/chapter-engagement?{window}", token),
                (f"/v1/classes/{class_id}/disengaged-students", token),
                (f"/v1/classes/{class_id}/question-difficulty?{window}&limit=50", token),
                (f"/v1/courses/{course}/activity/realtime", token)]
    return mix


async def run_load(port: int, mix: list[tuple[str, str]], rate: float, seconds: float,
                   connections: int = 32) -> tuple[list[float], int]:
    requests = [f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
                for path, token in mix]
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    errors = 0

    async def one(index: int, due: float) -> None:
        nonlocal errors
        connection = await pool.get()
        status = await connection.send(requests[index % len(requests)])
        latencies.append(time.perf_counter() - due)
        errors += status != 200
        pool.put_nowait(connection)

    start = time.perf_counter()
    tasks = []
    for index in range(int(rate * seconds)):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    while not pool.empty():
        pool.get_nowait().writer.close()
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long (default 30)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring (default 5)")
    args = parser.parse_args()
    secret = secrets.token_urlsafe(32)
    env = dict(os.environ, READ_API_JWT_SECRET=secret)
    settings = Settings.from_env(env)
    if not settings.warehouse_path.exists() and not settings.warehouse_catalog:
        raise SystemExit(f"no warehouse at {settings.warehouse_path}: build one first (make run, or make bench)")
    with connect(settings, read_only=True) as lake:
        events = int(lake.execute("select count(*) from silver.events_cleaned").fetchall()[0][0])
    mix = request_mix(settings)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "readapi", "serve", "--port", str(port)], cwd=PROJECT_DIR,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the read API did not start: {server.stdout.read() if server.stdout else ''}")
            time.sleep(0.2)
        asyncio.run(run_load(port, mix, args.rate, args.warmup))
        latencies, errors = asyncio.run(run_load(port, mix, args.rate, args.seconds))
    finally:
        server.terminate()
        server.wait(timeout=60)
    latencies.sort()
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "events_in_warehouse": events,
        "rate_per_second": args.rate, "seconds": args.seconds, "requests": len(latencies), "errors": errors,
        "distinct_requests": len(mix),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared with the load generator)",
    }
    (PROJECT_DIR / "bench" / "read_results.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"read API at {args.rate:g} req/s for {args.seconds:g}s on {events:,} events: p50 {result['p50_ms']} ms, "
          f"p99 {result['p99_ms']} ms, {errors} errors of {len(latencies):,} requests")
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
