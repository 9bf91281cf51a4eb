"""Alerts: run failures and failed checks, posted as Slack-compatible JSON to ALERT_WEBHOOK_URL.

Open-source Dagster has no alert policies, so two sensors do it: one on every failed run
(its job, partition, the failing step's error and a link to the run) and one on every failed
asset check, blocking or not (the asset, the check, its partition, what it found, a link).
Without a webhook URL the alert is only logged. A webhook that cannot be reached fails the
sensor's tick, which Dagster shows and retries on the next one.
"""

import json
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

from dagster import (
    DagsterEventType,
    DefaultSensorStatus,
    EventRecordsFilter,
    RunFailureSensorContext,
    SensorEvaluationContext,
    SkipReason,
    run_failure_sensor,
    sensor,
)

from ingest.settings import Settings

POST_TIMEOUT_SECONDS = 10.0


def slack_message(title: str, fields: Mapping[str, str], link: str) -> dict[str, Any]:
    """Slack's incoming-webhook JSON: a `text` fallback and blocks (Mattermost and Rocket.Chat take it too)."""
    lines = [f"*{name}:* {value}" for name, value in fields.items() if value]
    return {
        "text": f"{title}: " + "; ".join(f"{name} {value}" for name, value in fields.items() if value) + f" ({link})",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"<{link}|Open the run in Dagster>"}},
        ],
    }


def post(url: str, message: Mapping[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(message).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as response:  # noqa: S310 - the configured URL
        response.read()


def partition_of(tags: Mapping[str, str]) -> str:
    if tags.get("dagster/partition"):
        return tags["dagster/partition"]
    start, end = tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")
    return f"{start}..{end}" if start and end and start != end else start or ""


def run_link(settings: Settings, run_id: str) -> str:
    return f"{settings.orchestration.dagster_url}/runs/{run_id}"


def send(settings: Settings, message: dict[str, Any], log: Any) -> None:
    url = settings.orchestration.alert_webhook_url
    log.info(f"alert: {message['text']}")
    if url:
        post(url, message)


def build_sensors(settings: Settings) -> list[Any]:
    @run_failure_sensor(name="alert_on_run_failure", default_status=DefaultSensorStatus.RUNNING,
                        monitor_all_code_locations=False)
    def alert_on_run_failure(context: RunFailureSensorContext) -> None:
        run = context.dagster_run
        failed_steps = context.get_step_failure_events()
        step = (failed_steps[0].step_key or "") if failed_steps else ""
        error = (failed_steps[0].event_specific_data.error.message.strip()  # type: ignore[union-attr]
                 if failed_steps and failed_steps[0].event_specific_data else context.failure_event.message or "")
        assets = ", ".join(sorted(key.to_user_string() for key in run.asset_selection or []))[:500]
        send(settings, slack_message(f"Dagster run failed: {run.job_name}", {
            "job": run.job_name, "step": step, "asset": assets, "partition": partition_of(run.tags),
            "error": error[:1500]}, run_link(settings, run.run_id)), context.log)

    @sensor(name="alert_on_check_failure", minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING)
    def alert_on_check_failure(context: SensorEvaluationContext) -> Iterator[SkipReason]:
        after = int(context.cursor) if context.cursor else None
        records = context.instance.get_event_records(
            EventRecordsFilter(event_type=DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after),
            ascending=True, limit=500)
        failed = 0
        for event_record in records:
            evaluation = event_record.event_log_entry.asset_check_evaluation
            if evaluation is not None and not evaluation.passed:
                failed += 1
                run = context.instance.get_run_by_id(event_record.run_id)
                tags = run.tags if run else {}
                send(settings, slack_message(
                    f"Check failed: {evaluation.asset_key.to_user_string()} {evaluation.check_name}", {
                        "asset": evaluation.asset_key.to_user_string(), "check": evaluation.check_name,
                        "severity": evaluation.severity.value, "blocking": "yes" if evaluation.blocking else "no",
                        "partition": evaluation.partition or partition_of(tags),
                        "error": (evaluation.description or json.dumps(
                            {key: str(value.value) for key, value in evaluation.metadata.items()}))[:1500]},
                    run_link(settings, event_record.run_id)), context.log)
            context.update_cursor(str(event_record.storage_id))
        if not failed:
            yield SkipReason(f"no failed checks among {len(records)} new evaluation(s)")

    return [alert_on_run_failure, alert_on_check_failure]
