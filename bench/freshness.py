"""Freshness of the streaming path (`make bench-freshness`): events produced to Kafka at a
steady rate, `python -m ingest stream` consuming, loading and building the realtime models
every INTERVAL seconds; the freshness of an event is the time from its production (its
timestamp) to the end of the cycle that put its minute in gold.course_activity_realtime.
Writes bench/freshness_results.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
KAFKA = PROJECT_DIR / "scripts" / "kafka" / "kafka.sh"
TOPICS = ("clickstream", "video", "quiz")
from ingest.api.process import free_port  # noqa: E402

CYCLE_LINE = re.compile(r"cycle (\d+): consumed ([\d,]+).*dbt ([\d.]+)s, freshness p50 ([\d.]+)s max ([\d.]+)s")


def kafka(env: dict[str, str], *args: str) -> None:
    subprocess.run(["bash", str(KAFKA), *args], env=env, check=True, stdout=subprocess.DEVNULL)


def produce(bootstrap: str, rate: float, seconds: float) -> int:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all", "linger.ms": 5})
    kinds = [("page_view", {"scroll_depth": 0.5, "duration_seconds": 10}), ("video_play", {"video_id": "v1"}),
             ("quiz_attempt", {"quiz_id": "z1", "is_correct": True})]
    started = time.perf_counter()
    total = int(rate * seconds)
    for sequence in range(total):
        delay = started + sequence / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        event_type, metadata = kinds[sequence % 3]
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        student_id = f"s-{sequence % 2000}"
        event = {"event_id": f"f-{sequence}", "student_id": student_id, "event_type": event_type,
                 "timestamp": now, "course_id": f"c{sequence % 20}", "chapter_id": "ch1", "metadata": metadata,
                 "question_id": "q1" if event_type == "quiz_attempt" else None}
        producer.produce(TOPICS[sequence % 3], json.dumps(event).encode(), key=student_id.encode())
        producer.poll(0)
    producer.flush(30)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second (default 1000)")
    parser.add_argument("--seconds", type=float, default=180.0, help="how long to produce (default 180)")
    parser.add_argument("--interval", type=float, default=30.0, help="stream cycle seconds (default 30)")
    parser.add_argument("--results", type=Path, default=PROJECT_DIR / "bench" / "freshness_results.json")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-freshness-"))
    port = free_port()
    env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(free_port()),
           "KAFKA_DATA_DIR": str(workdir / "kafka"), "WAREHOUSE_PATH": str(workdir / "warehouse.sqlite")}
    bootstrap = f"127.0.0.1:{port}"
    kafka(env, "start")
    log_path = workdir / "stream.log"
    try:
        for topic in TOPICS:
            kafka(env, "topics", "create", topic, "3")
        with open(log_path, "w") as log:
            stream = subprocess.Popen(
                [sys.executable, "-m", "ingest", "stream", "--bootstrap", bootstrap, "--group", "freshness",
                 "--raw-zone", str(workdir / "zone"), "--interval", str(args.interval)],
                cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)
            print(f"producing {args.rate:,.0f} events/s for {args.seconds:.0f}s; "
                  f"stream cycles every {args.interval:g}s")
            produced = produce(bootstrap, args.rate, args.seconds)
            time.sleep(2 * args.interval + 30)  # let the last events through two more cycles
            stream.terminate()
            stream.wait(timeout=120)
    finally:
        kafka(env, "stop")
    cycles = [tuple(map(float, (m[1], m[2].replace(",", ""), m[3], m[4], m[5])))
              for m in CYCLE_LINE.finditer(log_path.read_text())]
    shutil.copy(log_path, PROJECT_DIR / "bench" / "freshness_stream.log")
    shutil.rmtree(workdir, ignore_errors=True)
    if not cycles:
        print("no cycle reported freshness; see bench/freshness_stream.log")
        return 1
    worst = max(cycle[4] for cycle in cycles)
    median_p50 = statistics.median(cycle[3] for cycle in cycles)
    dbt_seconds = statistics.median(cycle[2] for cycle in cycles)
    print(f"{'cycle':>5} {'consumed':>9} {'dbt s':>6} {'p50 s':>6} {'max s':>6}")
    for cycle in cycles:
        print(f"{cycle[0]:>5.0f} {cycle[1]:>9,.0f} {cycle[2]:>6.1f} {cycle[3]:>6.1f} {cycle[4]:>6.1f}")
    print(f"freshness: median p50 {median_p50:.1f}s, worst {worst:.1f}s (target < 60s); "
          f"median dbt build {dbt_seconds:.1f}s per cycle")
    args.results.write_text(json.dumps({
        "taken_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "rate_events_per_second": args.rate, "seconds": args.seconds, "interval_seconds": args.interval,
        "events_produced": produced, "median_p50_seconds": round(median_p50, 1), "worst_seconds": round(worst, 1),
        "median_dbt_seconds": round(dbt_seconds, 1), "target_met": worst < 60,
        "cycles": [dict(zip(("cycle", "consumed", "dbt_seconds", "p50_seconds", "max_seconds"), c, strict=True))
                   for c in cycles],
    }, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
