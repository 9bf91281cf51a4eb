"""Prometheus and Alertmanager (Debian's, started by scripts/prometheus.sh) over real targets: the
tracking API's metrics listener, the Kafka consumer's lag endpoint and the pipeline's metrics
(ops.pipeline_runs of a real warehouse). The alert rules' unit tests run with promtool; every
panel of the Grafana dashboard must return data; a failed step's alert reaches the webhook."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from webhook_receiver import WebhookReceiver

from ingest.api.process import ApiProcess, free_port
from ingest.kafka.consumer import ConsumerConfig, ZoneConsumer, render_lag_metrics, serve_lag_metrics
from ingest.settings import PROJECT_DIR, Settings
from ingest.zone.raw_zone import LocalRawZone
from orchestration.metrics import serve
from orchestration.run_log import StepRecord, now, record

SCRIPT = PROJECT_DIR / "scripts" / "prometheus.sh"
DASHBOARD = PROJECT_DIR / "orchestration" / "monitoring" / "grafana" / "pipeline-jobs.json"
WAIT_SECONDS = 90.0  # generous: the machine may be slow under load


def script(command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), command], env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=600, check=False)


def test_the_alert_rules_unit_tests_pass() -> None:
    done = script("test")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def query(port: int, expression: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expression})
    with urllib.request.urlopen(url, timeout=10) as response:
        answer = json.loads(response.read())
    assert answer["status"] == "success", answer
    return list(answer["data"]["result"])


def wait_for(what: str, condition: Any) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {WAIT_SECONDS:.0f}s")


@pytest.fixture
def pipeline_metrics(tmp_path: Path) -> Iterator[int]:
    """A warehouse whose latest dbt_daily run failed, and its metrics server."""
    settings = Settings(warehouse_path=tmp_path / "warehouse" / "w.sqlite")
    started = now() - timedelta(minutes=10)
    for step, result, minutes in (("dlt_load", "success", 1), ("dbt_daily", "success", 2),
                                  ("dbt_daily", "failure", 5)):
        record(settings, StepRecord(run_id=f"run-{minutes}", job_name="daily", step=step, partition_start="2026-11-30",
                                    partition_end="2026-11-30", triggered_by="user:test",
                                    started_at=started + timedelta(minutes=minutes),
                                    finished_at=started + timedelta(minutes=minutes + 1), result=result,
                                    rows_in=100, rows_out=90, error="boom" if result == "failure" else None))
    port = free_port()
    server = serve(settings, port)
    yield port
    server.shutdown()
    server.server_close()


@pytest.fixture
def api_metrics(tmp_path: Path) -> Iterator[int]:
    """The tracking API with its metrics listener, after an accepted and an unauthorized request."""
    api = ApiProcess(raw_zone=str(tmp_path / "zone"), keys_file=tmp_path / "keys.json", metrics_port=free_port())
    key = api.create_key("monitoring-test")
    api.start(timeout=60)
    try:
        for headers in ({"Authorization": f"Bearer {key}"}, {}):
            request = urllib.request.Request(f"{api.url}/v1/track", method="POST", headers={
                **headers, "Content-Type": "application/json"}, data=json.dumps({
                    "event_id": "e-1", "student_id": "s-1", "event_type": "page_view",
                    "timestamp": "2026-11-25T08:00:00Z"}).encode())
            try:
                urllib.request.urlopen(request, timeout=10).read()
            except urllib.error.HTTPError as error:
                assert error.code == 401
        assert api.metrics_port is not None
        yield api.metrics_port
    finally:
        api.stop()


@pytest.fixture
def consumer_metrics(tmp_path: Path) -> Iterator[int]:
    """The Kafka consumer's lag endpoint (its real server and renderer; the lag reading is set here,
    as no broker runs in this test)."""
    consumer = ZoneConsumer(ConsumerConfig(bootstrap=f"127.0.0.1:{free_port()}", topics=["events"], group="raw"),
                            LocalRawZone(tmp_path / "kafka-zone"))
    consumer.lag_metrics_text = render_lag_metrics(consumer, {("events", 0): 7, ("events", 1): 3})
    port = free_port()
    server = serve_lag_metrics(consumer, port)
    yield port
    server.shutdown()
    server.server_close()
    consumer.consumer.close()


def test_prometheus_scrapes_real_targets_serves_every_panel_and_alerts_reach_the_webhook(
        tmp_path: Path, pipeline_metrics: int, api_metrics: int, consumer_metrics: int) -> None:
    prometheus_port, alertmanager_port = free_port(), free_port()
    with WebhookReceiver() as receiver:
        env = {"PROM_PORT": str(prometheus_port), "ALERTMANAGER_PORT": str(alertmanager_port),
               "ALERTMANAGER_CLUSTER_PORT": str(free_port()), "PROM_DATA_DIR": str(tmp_path / "prometheus"),
               "PROM_API_TARGET": f"127.0.0.1:{api_metrics}", "PROM_KAFKA_TARGET": f"127.0.0.1:{consumer_metrics}",
               "PROM_PIPELINE_TARGET": f"127.0.0.1:{pipeline_metrics}", "PROM_SCRAPE_INTERVAL": "1s",
               "AM_GROUP_WAIT": "1s", "AM_GROUP_INTERVAL": "1s", "ALERT_WEBHOOK_URL": receiver.url}
        started = script("start", env)
        try:
            assert started.returncode == 0, started.stderr
            up = wait_for("every target up", lambda: (lambda rows: rows if len(rows) == 3 and all(
                row["value"][1] == "1" for row in rows) else None)(query(prometheus_port, "up")))
            assert {row["metric"]["job"] for row in up} == {"tracking-api", "kafka-consumer", "pipeline"}

            panels = json.loads(DASHBOARD.read_text())["panels"]
            expressions = [target["expr"] for panel in panels for target in panel["targets"]]
            assert len(expressions) == len(panels) >= 8
            for expression in expressions:
                wait_for(f"data for the panel query {expression}", lambda e=expression: query(prometheus_port, e))
            lag = query(prometheus_port, "sum(kafka_consumer_lag_messages)")
            assert lag[0]["value"][1] == "10"
            statuses = {row["metric"]["status"] for row in query(prometheus_port, "track_http_requests_total")}
            assert {"200", "401"} <= statuses

            firing = wait_for("PipelineStepFailed at the webhook", lambda: [
                message["json"] for message in receiver.messages
                if "PipelineStepFailed" in json.dumps(message["json"])])
            attachment = firing[0]["attachments"][0]
            assert attachment["title"] == "FIRING: PipelineStepFailed"
            assert "Pipeline step dbt_daily failed on its latest run" in attachment["text"]
        finally:
            stopped = script("stop", env)
            assert stopped.returncode == 0, stopped.stderr
