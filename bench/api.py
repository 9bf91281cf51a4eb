"""Benchmark of the tracking API (`make bench-api`): events per second with batches of 1
and of 100 from concurrent keep-alive clients, and p50/p99 latency of single events at a
fixed 1,000 requests/s. Server and load generator share the machine (2 cores here), so the
figures are a floor for a server with cores of its own. Writes bench/api_results.json."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from http_client import Connection  # noqa: E402  (bench/, the script's own folder)

from ingest.api.process import ApiProcess  # noqa: E402


@dataclass
class Result:
    name: str
    requests: int
    events: int
    seconds: float
    events_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int


def event_json(client: int, sequence: int, index: int) -> bytes:
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return json.dumps({
        "event_id": f"b{client}-{sequence}-{index}-{time.monotonic_ns()}", "student_id": f"s-{client % 500}",
        "event_type": "page_view", "timestamp": now, "page_url": "https://lms.example.org/courses/alg1/ch3",
        "course_id": "alg1", "chapter_id": "ch3", "metadata": {"scroll_depth": 0.5, "duration_seconds": 12},
        "context": {"user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "ip": "203.0.113.7", "platform": "web"},
    }, separators=(",", ":")).encode()


def request_bytes(port: int, key: str, body: bytes) -> bytes:
    return (f"POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


async def closed_loop(port: int, key: str, clients: int, batch: int, seconds: float, name: str) -> Result:
    """`clients` connections, each sending its next request as soon as the last is answered."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def client(number: int) -> None:
        nonlocal errors
        connection = await Connection.open(port)
        sequence = 0
        while time.perf_counter() < deadline:
            sequence += 1
            body = b"[" + b",".join(event_json(number, sequence, i) for i in range(batch)) + b"]"
            started = time.perf_counter()
            status = await connection.send(request_bytes(port, key, body))
            latencies.append(time.perf_counter() - started)
            errors += status != 200
        connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - started
    return summarize(name, latencies, batch, elapsed, errors)


async def open_loop(port: int, key: str, rate: float, seconds: float, connections: int, name: str) -> Result:
    """Single events at a fixed arrival rate, latency measured from the scheduled send time."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(await Connection.open(port))
    latencies: list[float] = []
    errors = 0

    async def one(sequence: int, scheduled: float) -> None:
        nonlocal errors
        connection = await pool.get()
        status = await connection.send(request_bytes(port, key, event_json(0, sequence, 0)))
        latencies.append(time.perf_counter() - scheduled)
        errors += status != 200
        pool.put_nowait(connection)

    tasks = []
    started = time.perf_counter()
    total = int(rate * seconds)
    for sequence in range(total):
        scheduled = started + sequence / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(sequence, scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    while not pool.empty():
        pool.get_nowait().close()
    return summarize(name, latencies, 1, elapsed, errors)


def summarize(name: str, latencies: list[float], batch: int, elapsed: float, errors: int) -> Result:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] if ordered else 0.0
    return Result(name=name, requests=len(latencies), events=len(latencies) * batch, seconds=round(elapsed, 2),
                  events_per_second=round(len(latencies) * batch / elapsed),
                  p50_ms=round(statistics.median(ordered) * 1000, 2) if ordered else 0.0,
                  p99_ms=round(p99 * 1000, 2), errors=errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each scenario (default 10)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s of the latency scenario (default 1000)")
    parser.add_argument("--results", type=Path, default=PROJECT_DIR / "bench" / "api_results.json")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    server = ApiProcess(raw_zone=str(workdir / "zone"), keys_file=workdir / "keys.json",
                        extra_args=["--rate-limit", "1000000", "--rate-burst", "1000000"])
    key = server.create_key("bench")
    server.start()
    try:
        results = [
            asyncio.run(closed_loop(server.port, key, args.clients, 100, args.seconds, "batches of 100")),
            asyncio.run(closed_loop(server.port, key, args.clients, 1, args.seconds, "batches of 1")),
            asyncio.run(open_loop(server.port, key, args.rate, args.seconds, 64,
                                  f"single events at {args.rate:,.0f} requests/s")),
        ]
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{'scenario':36} {'requests':>9} {'events/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for result in results:
        print(f"{result.name:36} {result.requests:>9,} {result.events_per_second:>10,} "
              f"{result.p50_ms:>8.2f} {result.p99_ms:>8.2f} {result.errors:>7}")
    batched, _, latency = results
    checks = {"batches_of_100_at_least_20000_events_per_second": batched.events_per_second >= 20000,
              "p99_under_50_ms_at_1000_requests_per_second": latency.p99_ms < 50 and latency.errors == 0}
    print(f"targets met: {checks}")
    args.results.write_text(json.dumps({
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "clients": args.clients, "results": [asdict(r) for r in results], "targets_met": checks,
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
