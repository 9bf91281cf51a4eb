"""Raw student ids and IPs live in the raw schema only, and int_events__validated is the one model
outside it that reads raw's relations: every text outside raw derives from validated's columns.
The privacy data test relies on it (it searches validated, not the tables made from it), so a
model that reads raw directly must be seen here first."""

from __future__ import annotations

import json
from pathlib import Path

RAW_RELATIONS = {"source.student_behavior.raw.events", "model.student_behavior.stg_raw__events"}
READERS_OUTSIDE_RAW = {"model.student_behavior.int_events__validated"}


def test_only_validation_reads_raw_records_outside_raw(dagster_manifest: Path) -> None:
    nodes = json.loads(dagster_manifest.read_text())["nodes"]
    models = {unique_id: node for unique_id, node in nodes.items() if node["resource_type"] in ("model", "snapshot")}
    assert "model.student_behavior.stg_raw__events" in models

    readers = {unique_id for unique_id, node in models.items()
               if RAW_RELATIONS & set(node["depends_on"]["nodes"]) and node["schema"] != "raw"}

    assert readers == READERS_OUTSIDE_RAW, f"models outside raw reading raw records: {sorted(readers)}"
