"""The two models that append by dlt load (stg_raw__events, int_events__validated) list the loads
they have not processed yet in one query and append them in another. On a PostgreSQL catalog a
full build may commit between the two and already hold those loads; the append must then add
nothing. CI caught it: 258 records twice in int_events__validated after a stream cycle ran next
to a full refresh (test_lakehouse). Here the window is held open by hand: the incremental SQL is
compiled while a load is new, the load is built, and the compiled SQL must select no row."""

from __future__ import annotations

from pathlib import Path

import pytest
from warehouses import copy_with_a_new_load

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

APPENDING_BY_LOAD = {"stg_raw__events": "staging/raw", "int_events__validated": "intermediate"}


@pytest.fixture(scope="module")
def compiled_before_a_concurrent_build(built_warehouse: Settings,
                                       tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, Path]:
    """Set up once for both models: they read the warehouse and the compiled SQL, never change them."""
    tmp_path = tmp_path_factory.mktemp("stale-load-list")
    settings = copy_with_a_new_load(built_warehouse.warehouse_path, tmp_path, seed=41)
    target = tmp_path / "target"
    compiled = run_dbt(["compile", "-s", *APPENDING_BY_LOAD, "--target-path", str(target), "--quiet"], settings,
                       capture=True)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    # The concurrent build: it commits the new load first.
    built = run_dbt(["run", "-s", *APPENDING_BY_LOAD, "--quiet"], settings, capture=True)
    assert built.returncode == 0, built.stdout[-3000:]
    return settings, target / "compiled" / "student_behavior" / "models"


@pytest.mark.parametrize("model", APPENDING_BY_LOAD)
def test_an_append_planned_before_a_build_committed_its_loads_adds_nothing(
        compiled_before_a_concurrent_build: tuple[Settings, Path], model: str) -> None:
    settings, models = compiled_before_a_concurrent_build
    sql = (models / APPENDING_BY_LOAD[model] / f"{model}.sql").read_text()
    with connect(settings, read_only=True) as warehouse:
        warehouse.execute("set variable student_hash_salt = 'any salt: only rows are counted'")
        rows = warehouse.execute(f"select count(*) from ({sql}) as planned_append").fetchall()[0][0]
    assert rows == 0, f"{model} would append {rows} records a concurrent build already holds"
