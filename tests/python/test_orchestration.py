"""Dagster over the loader and dbt (orchestration/), on a real warehouse and real dbt runs.

One small sample (20 students, 3 days) in a raw zone folder serves every test. The whole
graph is materialized once, for the first day; the other tests work on copies of that
warehouse or build only the models they are about (`asset_selection`), to stay fast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from dagster import (
    AssetKey,
    AssetsDefinition,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    Definitions,
    ExecuteInProcessResult,
    build_run_status_sensor_context,
    build_sensor_context,
    materialize,
)
from warehouses import copy_warehouse
from webhook_receiver import WebhookReceiver

from ingest.kafka.stream import CycleWrites, load_and_build
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import OrchestrationSettings, Settings
from ingest.warehouse.lake import connect
from orchestration.dbt import dbt_resource
from orchestration.definitions import NIGHTLY_CONFIG, build_definitions
from orchestration.instance import instance_yaml, writer_limit
from orchestration.load import files_of_days
from orchestration.metrics import render
from orchestration.run_log import read_runs

DAGSTER_URL = "http://dagster.test:3000"
# What a backfill and single-day runs must agree on: the event chain down to a gold mart.
BACKFILL_ASSETS = [AssetKey(key.split("/")) for key in (
    "raw/events", "raw/loaded_files", "raw/_dlt_loads", "reference/event_type_aliases", "reference/ip_country_ranges",
    "reference/user_agent_device_rules", "raw/stg_raw__events", "intermediate/int_events__validated",
    "intermediate/int_events__enriched", "intermediate/int_events__sessionized", "silver/events_cleaned",
    "silver/events_rejected", "silver/events_duplicates", "silver/sessions", "gold/student_daily_activity")]
COMPARED = ("silver.events_cleaned", "silver.sessions", "gold.student_daily_activity")
# Columns that say when or in which load a row was written, not what it holds.
RUN_COLUMNS = {"updated_at", "processed_at", "load_id", "loaded_at", "_dlt_load_id"}


@dataclass
class Sample:
    zone: Path
    days: list[date]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    folder = tmp_path_factory.mktemp("orchestration")
    start = datetime.now(UTC).date() - timedelta(days=4)
    generate(GenerateConfig(students=20, days=3, start=start, seed=11, out=folder / "zone"), progress=False)
    return Sample(folder / "zone", [start + timedelta(days=offset) for offset in range(3)])


@pytest.fixture(scope="module")
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        yield server


def settings_for(warehouse: Path, zone: Path, webhook: str | None = None) -> Settings:
    return Settings(warehouse_path=warehouse, raw_zone_url=str(zone),
                    orchestration=OrchestrationSettings(alert_webhook_url=webhook, dagster_url=DAGSTER_URL))


@dataclass
class Orchestrated:
    settings: Settings
    definitions: Definitions
    instance: DagsterInstance
    result: ExecuteInProcessResult


@pytest.fixture(scope="module")
def day_one(sample: Sample, dagster_manifest: Path, receiver: WebhookReceiver,
            tmp_path_factory: pytest.TempPathFactory) -> Orchestrated:
    """The whole daily graph materialized for the first day, on a fresh warehouse."""
    settings = settings_for(tmp_path_factory.mktemp("day-one") / "warehouse.sqlite", sample.zone, receiver.url)
    definitions = build_definitions(settings, dagster_manifest)
    instance = DagsterInstance.ephemeral()
    result = definitions.resolve_job_def("daily").execute_in_process(
        partition_key=sample.days[0].isoformat(), instance=instance, raise_on_error=False)
    return Orchestrated(settings, definitions, instance, result)


def materialized(result: ExecuteInProcessResult) -> set[AssetKey]:
    return {event.asset_key for event in result.get_asset_materialization_events() if event.asset_key}


def check_evaluations(result: ExecuteInProcessResult) -> list[Any]:
    return [event.asset_check_evaluation_data for event in result.all_events
            if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION]


def test_the_whole_graph_materializes_for_one_partition(day_one: Orchestrated, sample: Sample) -> None:
    assert day_one.result.success
    job = day_one.definitions.resolve_job_def("daily")
    assert materialized(day_one.result) == set(job.asset_layer.executable_asset_keys)
    assert AssetKey(["gold", "student_daily_activity"]) in materialized(day_one.result)
    evaluations = check_evaluations(day_one.result)
    assert len(evaluations) > 100  # every dbt data test of the built models is an asset check
    assert [e.check_name for e in evaluations if not e.passed and e.severity.value == "ERROR"] == []
    with connect(day_one.settings, read_only=True) as warehouse:
        summary = warehouse.execute("select date, active_students, sessions from ops.daily_summary").fetchall()
    assert [row[0] for row in summary] == [sample.days[0]] and summary[0][1] > 0 and summary[0][2] > 0


def test_every_step_is_in_pipeline_runs(day_one: Orchestrated, sample: Sample) -> None:
    runs = read_runs(day_one.settings)
    assert [(row["step"], row["result"]) for row in runs] == [
        ("dlt_load", "success"), ("dbt_daily", "success"), ("daily_summary", "success")]
    load, build, summary = runs
    assert {row["run_id"] for row in runs} == {day_one.result.run_id}
    assert {row["partition_start"] for row in runs} == {sample.days[0].isoformat()}
    assert str(load["triggered_by"]).startswith("user:")
    assert len(eval(str(load["dlt_load_ids"]))) == 1 and int(str(load["rows_out"])) > 0
    assert build["dbt_invocation_id"] and int(str(build["rows_in"])) == int(str(load["rows_out"]))
    assert int(str(build["rows_out"])) > 0
    text = render(runs)
    assert 'pipeline_step_runs_total{step="dbt_daily",result="success"} 1' in text
    assert 'pipeline_step_runs_total{step="dbt_daily",result="failure"} 0' in text
    assert 'pipeline_step_duration_seconds_count{step="dlt_load"} 1' in text


def test_a_failing_check_stops_every_downstream_asset_and_alerts(
        day_one: Orchestrated, receiver: WebhookReceiver, tmp_path: Path, sample: Sample,
        dagster_manifest: Path) -> None:
    """A session without an id: not_null on silver.sessions (error severity) fails, so the Python asset
    below it is not materialized; the run-failure and check-failure sensors post to the webhook."""
    settings = settings_for(tmp_path / "warehouse.sqlite", sample.zone, receiver.url)
    copy_warehouse(day_one.settings.warehouse_path, settings.warehouse_path)
    with connect(settings) as warehouse:
        warehouse.execute("insert into silver.sessions select * replace (null as session_id) from silver.sessions "
                          "limit 1")
    definitions = build_definitions(settings, dagster_manifest)
    instance = DagsterInstance.ephemeral()
    day = sample.days[0].isoformat()
    result = definitions.resolve_job_def("daily").execute_in_process(
        partition_key=day, instance=instance, raise_on_error=False, run_config=NIGHTLY_CONFIG,
        asset_selection=[AssetKey(["silver", "sessions"]), AssetKey(["ops", "daily_summary"])])
    assert not result.success
    assert AssetKey(["ops", "daily_summary"]) not in materialized(result)
    failed = [e for e in check_evaluations(result) if not e.passed]
    assert [(e.asset_key, e.blocking) for e in failed] == [(AssetKey(["silver", "sessions"]), True)]
    assert "not_null" in failed[0].check_name
    assert [(row["step"], row["result"]) for row in read_runs(settings)][-1] == ("dbt_daily", "failure")

    sensors = {sensor.name: sensor for sensor in definitions.sensors or ()}
    failure = next(event for event in result.all_events if event.event_type == DagsterEventType.RUN_FAILURE)
    before = len(receiver.messages)
    sensors["alert_on_run_failure"](build_run_status_sensor_context(
        sensor_name="alert_on_run_failure", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=failure).for_run_failure())
    list(sensors["alert_on_check_failure"](build_sensor_context(instance=instance)) or [])
    posted = [message["json"] for message in receiver.messages[before:]]
    assert [message["text"].split(":")[0] for message in posted] == ["Dagster run failed", "Check failed"]
    run_alert, check_alert = posted
    assert f"{DAGSTER_URL}/runs/{result.run_id}" in run_alert["text"]
    assert f"partition {day}" in run_alert["text"] and "silver/sessions" in run_alert["text"]
    assert "step dbt_daily" in run_alert["text"]
    assert check_alert["blocks"][0]["text"]["text"].startswith("Check failed: silver/sessions not_null")
    assert "blocking yes" in check_alert["text"] and f"partition {day}" in check_alert["text"]


def rows_of(settings: Settings, relation: str) -> list[tuple[Any, ...]]:
    with connect(settings, read_only=True) as warehouse:
        schema, table = relation.split(".")
        columns = [row[0] for row in warehouse.execute(
            "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
            "order by ordinal_position", [schema, table]).fetchall() if row[0] not in RUN_COLUMNS]
        return sorted(warehouse.execute(f"select {', '.join(columns)} from {relation}").fetchall(), key=repr)


def materialize_days(settings: Settings, manifest: Path, first: str, last: str) -> ExecuteInProcessResult:
    """The event chain (BACKFILL_ASSETS, no data tests: they are not what is compared) for days first..last."""
    definitions = build_definitions(settings, manifest)
    assets = [node for node in definitions.assets or [] if isinstance(node, AssetsDefinition)]
    return materialize(assets, selection=AssetSelection.assets(*BACKFILL_ASSETS).without_checks(),
                       resources={"dbt": dbt_resource()}, instance=DagsterInstance.ephemeral(),
                       tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})


def test_a_backfill_during_stream_cycles_equals_single_day_runs(
        day_one: Orchestrated, sample: Sample, dagster_manifest: Path, tmp_path: Path) -> None:
    """Three days as one backfill run while the stream loop loads and builds files of the same days,
    cycle after cycle, on the same warehouse: one writer at a time, and the rows of three single-day
    runs (the first is day_one's whole-graph run, on a copy of its warehouse)."""
    days = [day.isoformat() for day in sample.days]
    single = settings_for(tmp_path / "single" / "warehouse.sqlite", sample.zone)
    copy_warehouse(day_one.settings.warehouse_path, single.warehouse_path)
    for day in days[1:]:
        assert materialize_days(single, dagster_manifest, day, day).success

    backfill = settings_for(tmp_path / "backfill" / "warehouse.sqlite", sample.zone)
    cycles: list[CycleWrites] = []
    failures: list[BaseException] = []

    def stream() -> None:
        try:
            for day in sample.days[:2]:
                cycles.append(load_and_build(files_of_days(backfill, day, day), backfill))
        except BaseException as error:  # reported by the test thread
            failures.append(error)

    streaming = threading.Thread(target=stream)
    streaming.start()
    result = materialize_days(backfill, dagster_manifest, days[0], days[-1])
    streaming.join(timeout=600)
    assert result.success and not failures
    assert len(cycles) == 2 and all(cycle.built in (True, None) for cycle in cycles)
    assert [(row["step"], row["partition_start"], row["partition_end"]) for row in read_runs(backfill)] == [
        ("dlt_load", days[0], days[-1]), ("dbt_daily", days[0], days[-1])]
    for relation in COMPARED:
        assert rows_of(backfill, relation) == rows_of(single, relation), relation


def test_the_writer_pool_matches_the_catalog(tmp_path: Path) -> None:
    embedded = Settings(warehouse_path=tmp_path / "w.sqlite")
    server = Settings(warehouse_path=tmp_path / "w.sqlite", warehouse_catalog="postgres:dbname=w host=db")
    assert writer_limit(embedded) == 1 and writer_limit(server) > 1
    assert "default_limit: 1\n" in instance_yaml(embedded, tmp_path)
    assert f"base_dir: {tmp_path.resolve() / 'storage'}" in instance_yaml(embedded, tmp_path)
