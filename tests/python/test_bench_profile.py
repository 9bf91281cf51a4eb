"""`make bench` says where each dbt build's time went, from dbt's run_results.json."""

from __future__ import annotations

import json
from pathlib import Path

from bench.run import read_dbt_profile


def node(unique_id: str, seconds: float) -> dict[str, object]:
    return {"unique_id": unique_id, "execution_time": seconds, "status": "success"}


def test_the_profile_sums_seconds_per_kind_of_node_and_ranks_the_slowest(tmp_path: Path) -> None:
    run_results = tmp_path / "run_results.json"
    run_results.write_text(json.dumps({"results": [
        node("model.student_behavior.stg_raw__events", 100.25),
        node("model.student_behavior.sessions", 3.0),
        node("test.student_behavior.not_null_sessions_session_id.1a2b", 0.5),
        node("test.student_behavior.assert_raw_records_reconcile", 8.25),
        node("seed.student_behavior.event_type_aliases", 0.1),
    ]}))

    profile = read_dbt_profile(run_results, slowest=3)

    assert profile["per_kind"] == {
        "model": {"nodes": 2, "seconds": 103.25},
        "test": {"nodes": 2, "seconds": 8.75},
        "seed": {"nodes": 1, "seconds": 0.1},
    }
    assert profile["slowest"] == [
        {"node": "stg_raw__events", "seconds": 100.25},
        {"node": "assert_raw_records_reconcile", "seconds": 8.25},
        {"node": "sessions", "seconds": 3.0},
    ]
