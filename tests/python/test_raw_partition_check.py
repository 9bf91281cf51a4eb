"""The missing-or-late raw partition check: hours that usually have raw events and have none;
and dbt's source freshness of raw/events, scheduled beside it.

A real warehouse holds a day of events and the first half of the next; the second half is
"missing". The check finds exactly the hours of that half that the day before had, runs as
its own Dagster job, and its failure reaches the webhook through the check-failure sensor."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, build_sensor_context
from warehouses import copy_warehouse
from webhook_receiver import WebhookReceiver

from ingest.load.loader import load_files
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import OrchestrationSettings, Settings
from ingest.warehouse.lake import connect
from orchestration.checks import missing_raw_hours
from orchestration.definitions import build_definitions
from orchestration.freshness import source_freshness


@pytest.fixture(scope="module")
def half_day_missing(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, datetime]:
    """Events of the day before yesterday, and of yesterday until noon only (UTC)."""
    folder = tmp_path_factory.mktemp("raw-check")
    first = datetime.now(UTC).date() - timedelta(days=2)
    generate(GenerateConfig(students=20, days=2, start=first, seed=5, out=folder / "zone", hours=36), progress=False)
    # A line that is not JSON (cut off mid-record) beside the good ones: the check must not trip on it.
    broken = folder / "zone" / "clickstream" / f"date={first.isoformat()}" / "part-broken.jsonl"
    broken.write_text('{"event_id":"e-cut","student_id":"s-1","timestamp":"' + first.isoformat() + 'T08:00:00Z","pa\n')
    settings = Settings(warehouse_path=folder / "warehouse.sqlite", raw_zone_url=str(folder / "zone"))
    report = load_files([str(folder / "zone")], settings, show_progress=False)
    assert report.rows > 0 and not report.files_failed and str(broken) in report.files_loaded
    return settings, datetime.combine(first, time(), tzinfo=UTC)


def hours_with_events(settings: Settings, since: datetime) -> set[datetime]:
    with connect(settings, read_only=True) as warehouse:
        warehouse.execute("set TimeZone = 'UTC'")
        rows = warehouse.execute(
            "select distinct date_trunc('hour', try_cast(json_extract_string(raw_line, '$.timestamp') as timestamptz)) "
            "from raw.events where json_valid(raw_line)").fetchall()
    return {row[0].astimezone(UTC) for row in rows if row[0] is not None and row[0] >= since}


def test_missing_hours_are_the_usual_hours_without_events(half_day_missing: tuple[Settings, datetime]) -> None:
    settings, first = half_day_missing
    noon = first + timedelta(days=1, hours=12)
    present = hours_with_events(settings, first)

    def expected(now: datetime, lateness: int) -> list[datetime]:
        """Written out: hours in [now - 24 h, now - lateness) without events, whose hour of day had some
        on an earlier day (only the first day is earlier here)."""
        start, end = now - timedelta(hours=24), now - timedelta(hours=lateness)
        usual = {hour.hour for hour in present if hour < start}
        hours = [start + timedelta(hours=offset) for offset in range(24 - lateness)]
        return [hour for hour in hours if hour < end and hour.hour in usual and hour not in present]

    # Checked at 02:00 the day after, data allowed 2 hours late: yesterday 02:00 to midnight.
    missing = missing_raw_hours(settings, first + timedelta(days=2, hours=2), lateness_hours=2)
    assert missing == expected(first + timedelta(days=2, hours=2), 2)
    afternoon = [hour for hour in missing if hour >= noon]
    usual_afternoon = {hour.hour for hour in present if hour < first + timedelta(days=1) and hour.hour >= 12}
    assert [hour.hour for hour in afternoon] == sorted(usual_afternoon) and len(afternoon) >= 6
    # At 14:00 with 2 hours allowed, the afternoon is not missing yet.
    early = missing_raw_hours(settings, noon + timedelta(hours=2), lateness_hours=2)
    assert early == expected(noon + timedelta(hours=2), 2) and all(hour < noon for hour in early)


def test_the_check_fails_and_the_webhook_hears_it(half_day_missing: tuple[Settings, datetime],
                                                  dagster_manifest: Path) -> None:
    settings, _ = half_day_missing
    with WebhookReceiver() as receiver:
        settings = Settings(warehouse_path=settings.warehouse_path, raw_zone_url=settings.raw_zone_url,
                            orchestration=OrchestrationSettings(alert_webhook_url=receiver.url))
        definitions = build_definitions(settings, dagster_manifest)
        instance = DagsterInstance.ephemeral()
        result = definitions.resolve_job_def("raw_partition_check").execute_in_process(instance=instance)
        assert result.success  # the check is not blocking: it reports
        evaluations = {event.asset_check_evaluation_data.check_name: event.asset_check_evaluation_data
                       for event in result.all_events if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION}
        assert {name: evaluation.passed for name, evaluation in evaluations.items()} == {
            "raw_hours_present": False, "raw_source_fresh": True}  # loaded minutes ago, though hours are missing

        sensor = next(sensor for sensor in definitions.sensors or () if sensor.name == "alert_on_check_failure")
        context = build_sensor_context(instance=instance)
        list(sensor(context) or [])
        [message] = [message["json"] for message in receiver.messages]
        assert message["text"].startswith("Check failed: raw/events raw_hours_present")
        assert "no raw events for" in message["text"] and "blocking no" in message["text"]
        assert f"/runs/{result.run_id}" in message["blocks"][2]["text"]["text"]
        # The cursor moves on: the same failure is not posted twice.
        list(sensor(build_sensor_context(instance=instance, cursor=context.cursor)) or [])
        assert len(receiver.messages) == 1


@pytest.mark.parametrize(("hours_old", "status"), [(30, "warn"), (80, "error")])
def test_source_freshness_reports_dbt_verdict(half_day_missing: tuple[Settings, datetime], tmp_path: Path,
                                              hours_old: int, status: str) -> None:
    """Nothing loaded for 30 h is dbt's warn (after 24 h), for 80 h its error (after 72 h)."""
    settings = Settings(warehouse_path=tmp_path / "warehouse.sqlite")
    copy_warehouse(half_day_missing[0].warehouse_path, settings.warehouse_path)
    with connect(settings) as warehouse:
        warehouse.execute(f"update raw.events set loaded_at = loaded_at - interval {hours_old} hours")
    freshness = source_freshness(settings)
    assert freshness.status == status, freshness.detail
    assert freshness.hours_ago is not None and hours_old <= freshness.hours_ago < hours_old + 1
    assert freshness.detail.startswith(f"newest raw event loaded {freshness.hours_ago} h ago")


def test_source_freshness_of_a_warehouse_without_raw_events_is_a_runtime_error(tmp_path: Path) -> None:
    freshness = source_freshness(Settings(warehouse_path=tmp_path / "empty.sqlite"))
    assert freshness.status == "runtime error" and freshness.hours_ago is None
    assert 'Table with name "raw.events" does not exist' in freshness.detail and "Traceback" not in freshness.detail
