"""The pipeline's own metrics in the Prometheus text format, computed from ops.pipeline_runs.

`python -m orchestration.metrics` (`make pipeline-metrics`) serves them on
127.0.0.1:PIPELINE_METRICS_PORT/metrics; Prometheus scrapes them beside the tracking API's
and the Kafka consumer's. Each scrape reads the table afresh (a read-only snapshot: it never
waits for a writer), so the numbers survive any restart but the warehouse's.
"""

import argparse
import threading
from collections.abc import Sequence
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ingest.errors import InputError
from ingest.settings import Settings
from orchestration.run_log import read_runs

DURATION_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)


def _seconds(row: dict[str, object]) -> float:
    started, finished = row["started_at"], row["finished_at"]
    assert isinstance(started, datetime) and isinstance(finished, datetime)
    return max(0.0, (finished - started).total_seconds())


def render(runs: Sequence[dict[str, object]]) -> str:
    """Counters per step and result, rows per step, a duration histogram per step, and the last
    success and failure of each step (for the alert on stale partitions)."""
    steps = sorted({str(row["step"]) for row in runs})
    lines = ["# HELP pipeline_step_runs_total Orchestrated step runs by step and result (ops.pipeline_runs).",
             "# TYPE pipeline_step_runs_total counter"]
    for step in steps:
        for result in ("success", "failure"):
            count = sum(1 for row in runs if row["step"] == step and row["result"] == result)
            lines.append(f'pipeline_step_runs_total{{step="{step}",result="{result}"}} {count}')
    lines += ["# HELP pipeline_step_rows_total Rows read (in) and written (out) by step.",
              "# TYPE pipeline_step_rows_total counter"]
    for step in steps:
        for direction in ("in", "out"):
            total = sum(int(str(row[f"rows_{direction}"])) for row in runs
                        if row["step"] == step and row[f"rows_{direction}"] is not None)
            lines.append(f'pipeline_step_rows_total{{step="{step}",direction="{direction}"}} {total}')
    lines += ["# HELP pipeline_step_duration_seconds Wall time of a step, start to end.",
              "# TYPE pipeline_step_duration_seconds histogram"]
    for step in steps:
        durations = [_seconds(row) for row in runs if row["step"] == step]
        for bound in DURATION_BUCKETS:
            lines.append(f'pipeline_step_duration_seconds_bucket{{step="{step}",le="{bound}"}} '
                         f"{sum(1 for d in durations if d <= bound)}")
        lines += [f'pipeline_step_duration_seconds_bucket{{step="{step}",le="+Inf"}} {len(durations)}',
                  f'pipeline_step_duration_seconds_sum{{step="{step}"}} {sum(durations):.3f}',
                  f'pipeline_step_duration_seconds_count{{step="{step}"}} {len(durations)}']
    for result, name in (("success", "pipeline_step_last_success_timestamp_seconds"),
                         ("failure", "pipeline_step_last_failure_timestamp_seconds")):
        lines += [f"# HELP {name} When a step last ended with {result} (Unix time).", f"# TYPE {name} gauge"]
        for step in steps:
            ends = [row["finished_at"] for row in runs if row["step"] == step and row["result"] == result]
            if ends:
                last = max(end for end in ends if isinstance(end, datetime))
                lines.append(f'{name}{{step="{step}"}} {last.timestamp():.3f}')
    lines += ["# HELP pipeline_last_partition_loaded_timestamp_seconds Start of the latest daily partition a "
              "successful load covered (Unix time).", "# TYPE pipeline_last_partition_loaded_timestamp_seconds gauge"]
    loaded = [str(row["partition_end"]) for row in runs if row["step"] == "dlt_load" and row["result"] == "success"
              and row["partition_end"]]
    if loaded:
        day = datetime.fromisoformat(max(loaded)[:10] + "T00:00:00+00:00")
        lines.append(f"pipeline_last_partition_loaded_timestamp_seconds {day.timestamp():.0f}")
    return "\n".join(lines) + "\n"


def serve(settings: Settings, port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """GET /metrics on host:port, in a daemon thread; the caller shuts the server down."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            if self.path != "/metrics":
                self.send_response(404)
                self.end_headers()
                return
            try:
                body, status = render(read_runs(settings)).encode(), 200
            except Exception as error:  # a warehouse not built yet: Prometheus shows the scrape as failed
                body, status = f"error: {error}\n".encode(), 503
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.metrics",
                                     description="Serve the pipeline's metrics (ops.pipeline_runs) for Prometheus.")
    parser.add_argument("--port", type=int, help="port on 127.0.0.1 (default PIPELINE_METRICS_PORT or 9109)")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except InputError as error:
        print(f"error: {error}")
        return 2
    port = args.port or settings.orchestration.pipeline_metrics_port
    server = serve(settings, port)
    print(f"pipeline metrics on http://127.0.0.1:{port}/metrics (warehouse {settings.warehouse_path})", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
