"""The two models that read every raw record (stg_raw__events, int_events__validated) must plan as
hash joins. A join condition with a test on one side only (`kind = 'string' and alias = ...`) made
DuckDB 1.5 compare every record with every row of the other side, and a correlated `not exists`
(erased students) made it buffer every staged record: at 10M events stg_raw__events took 200 s
instead of 75, with results that were right. Row counts cannot catch that; the plan can. Both the
incremental SQL (a new load waiting) and the full refresh are checked."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from query_profiles import output_rows, profiled_rows
from warehouses import copy_with_a_new_load

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

MODELS = {"stg_raw__events": "staging/raw", "int_events__validated": "intermediate"}
# Operators that compare rows pairwise: never right for a lookup by key on millions of records.
LOOPING_JOINS = {"NESTED_LOOP_JOIN", "BLOCKWISE_NL_JOIN", "CROSS_PRODUCT"}
# A correlated subquery that DuckDB could not flatten buffers its whole input. Validation uses
# them only on the few rejected or redacted records (json_tree, record shapes); staging never.
BUFFERING_JOINS = {"LEFT_DELIM_JOIN", "RIGHT_DELIM_JOIN", "DELIM_JOIN"}


@pytest.fixture(scope="module")
def compiled_models(built_warehouse: Settings,
                    tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, Path]]:
    tmp_path = tmp_path_factory.mktemp("query-plans")
    settings = copy_with_a_new_load(built_warehouse.warehouse_path, tmp_path, seed=43)
    targets = {"incremental": tmp_path / "incremental", "full refresh": tmp_path / "full-refresh"}
    for mode, target in targets.items():
        flags = ["--full-refresh"] if mode == "full refresh" else []
        compiled = run_dbt(["compile", "-s", *MODELS, *flags, "--target-path", str(target), "--quiet"], settings,
                           capture=True)
        assert compiled.returncode == 0, compiled.stdout[-3000:]
    return settings, {mode: target / "compiled" / "student_behavior" / "models" for mode, target in targets.items()}


def operators(plan: dict[str, Any]) -> Iterator[str]:
    yield str(plan.get("name", ""))
    for child in plan.get("children", []):
        yield from operators(child)


@pytest.mark.parametrize("mode", ["incremental", "full refresh"])
@pytest.mark.parametrize("model", MODELS)
def test_models_reading_every_record_plan_hash_joins(compiled_models: tuple[Settings, dict[str, Path]],
                                                     model: str, mode: str) -> None:
    settings, folders = compiled_models
    sql = (folders[mode] / MODELS[model] / f"{model}.sql").read_text()
    with connect(settings, read_only=True) as warehouse:
        warehouse.execute("set variable student_hash_salt = 'any salt: only the plan is read'")
        # The IP ranges lookup is an ASOF join, which DuckDB runs as a loop on inputs as small as
        # these; planned as it is at scale, it is not mistaken for a loop over the records.
        warehouse.execute("set asof_loop_join_threshold = 0")
        plans = json.loads(warehouse.execute(f"explain (format json) {sql}").fetchall()[0][1])
    found = [name for plan in plans for name in operators(plan)]
    assert "HASH_JOIN" in found, found
    assert not LOOPING_JOINS & set(found), f"{model} ({mode}) compares rows pairwise: {sorted(set(found))}"
    if model == "stg_raw__events":
        assert not BUFFERING_JOINS & set(found), f"{model} ({mode}) buffers its input: {sorted(set(found))}"


@pytest.mark.parametrize("mode", ["incremental", "full refresh"])
def test_the_duplicate_rule_ranks_only_repeated_event_ids(compiled_models: tuple[Settings, dict[str, Path]],
                                                          mode: str, tmp_path: Path) -> None:
    """Ranking every valid record by event_id sorted 10M ids and evaluated the contract's rule on every
    record once more (16 s of int_events__validated at 10M events): only the copies of an event_id sent
    more than once need a rank."""
    settings, folders = compiled_models
    sql = (folders[mode] / MODELS["int_events__validated"] / "int_events__validated.sql").read_text()
    with connect(settings, read_only=True) as warehouse:
        staged = warehouse.execute("select count(*) from raw.stg_raw__events").fetchall()[0][0]
        repeated = warehouse.execute(
            "select coalesce(sum(copies), 0) from (select count(*) as copies from raw.stg_raw__events"
            " where event_id is not null group by event_id having count(*) > 1)").fetchall()[0][0]
    _, profile = profiled_rows(settings, sql, tmp_path / "profile.json")
    ranked = output_rows(profile, "WINDOW", mentioning="ROW_NUMBER")
    assert ranked, "the duplicate rule no longer ranks with a window: this test must look elsewhere"
    assert max(ranked) <= repeated < staged, f"{max(ranked)} records ranked; {repeated} share an event_id"
