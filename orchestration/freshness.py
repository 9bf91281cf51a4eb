"""dbt's source freshness of raw/events as a scheduled, non-blocking asset check.

`dbt source freshness` compares the newest `loaded_at` with the source's thresholds
(models/staging/raw/_raw__sources.yml: warn after 24 h, error after 72 h). The check reports
dbt's verdict with dbt's severity: `warn` fails it as a warning, `error` (or a run error, such
as a warehouse that cannot be read) as an error; a failure reaches the webhook through the
check-failure sensor. It complements raw_hours_present: that one finds an hour missing within
a day, this one a source that stopped landing altogether.
"""

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from orchestration.load import RAW_EVENTS

SOURCE = "source:raw.events"


@dataclass(frozen=True)
class Freshness:
    status: str  # dbt's: pass, warn, error or runtime error
    max_loaded_at: str | None
    hours_ago: float | None
    detail: str


def source_freshness(settings: Settings) -> Freshness:
    """Run `dbt source freshness` on raw/events and read its verdict from sources.json."""
    with tempfile.TemporaryDirectory(prefix="source-freshness-") as folder:
        command = ["source", "freshness", "--no-use-colors", "--quiet", "--select", SOURCE, "--target-path", folder]
        done = run_dbt(command, settings, capture=True)
        artifact = Path(folder) / "sources.json"
        results = json.loads(artifact.read_text())["results"] if artifact.exists() else []
    if not results:
        # dbt failed before it could judge (no warehouse, no raw.events): its error line says why.
        lines = [line.strip() for line in (done.stdout + "\n" + done.stderr).splitlines() if line.strip()]
        reason = next((line for line in reversed(lines) if "Error:" in line), lines[-1] if lines else "")
        return Freshness("runtime error", None, None,
                         f"dbt source freshness failed (exit code {done.returncode}): {reason}")
    result = results[0]
    seconds = result.get("max_loaded_at_time_ago_in_s")
    hours = round(seconds / 3600, 1) if seconds is not None else None
    detail = (f"newest raw event loaded {hours} h ago ({result['max_loaded_at']})" if hours is not None
              else result.get("error") or result.get("message") or "no freshness result")
    return Freshness(result["status"], result.get("max_loaded_at"), hours, detail)


def build_freshness_check(settings: Settings) -> Any:
    @asset_check(asset=RAW_EVENTS, name="raw_source_fresh", blocking=False,
                 description="dbt source freshness of raw/events: warn when nothing was loaded for 24 h, error after "
                             "72 h (models/staging/raw/_raw__sources.yml).")
    def raw_source_fresh(context: AssetCheckExecutionContext) -> AssetCheckResult:
        freshness = source_freshness(settings)
        severity = AssetCheckSeverity.WARN if freshness.status == "warn" else AssetCheckSeverity.ERROR
        metadata: dict[str, Any] = {"status": freshness.status}
        if freshness.max_loaded_at is not None:
            metadata["max_loaded_at"] = freshness.max_loaded_at
        if freshness.hours_ago is not None:
            metadata["hours_ago"] = freshness.hours_ago
        return AssetCheckResult(passed=freshness.status == "pass", severity=severity,
                                description=f"{freshness.status}: {freshness.detail}", metadata=metadata)

    return raw_source_fresh
