from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from ingest.settings import Settings  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (`pytest -n 2`), each worker's dbt runs keep their
    artifacts and partial-parse state apart: two dbt processes writing one target/ folder
    corrupt each other's manifest."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        folder = Path(tempfile.mkdtemp(prefix=f"student-behavior-dbt-{worker}-"))
        os.environ.setdefault("DBT_TARGET_PATH", str(folder / "target"))
        os.environ.setdefault("DBT_LOG_PATH", str(folder / "logs"))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(warehouse_path=tmp_path / "warehouse" / "test.sqlite")


@pytest.fixture(scope="session")
def dagster_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt's manifest for the Dagster definitions, parsed once per session (orchestration tests)."""
    from orchestration.dbt import manifest_path

    return manifest_path(tmp_path_factory.mktemp("dagster-manifest"), refresh=True)


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """One small warehouse built for the whole session (20 students, 2 days, the demo roster):
    `folder/raw` holds its event files and roster, `folder/warehouse.sqlite` the lake. Read it;
    a test that changes it works on a copy (warehouses.copy_warehouse)."""
    from datetime import date, timedelta

    from ingest.load.loader import load_files
    from ingest.load.roster import load_roster
    from ingest.sample.generate import GenerateConfig, generate
    from ingest.sample.roster import ROSTER_FOLDER, demo_roster, write_roster
    from ingest.warehouse.dbt_runner import run_dbt

    folder = tmp_path_factory.mktemp("built")
    students, seed = 20, 11
    generate(GenerateConfig(students=students, days=2, start=date.today() - timedelta(days=2), seed=seed,
                            out=folder / "raw"), progress=False)
    write_roster(demo_roster(students, seed), folder / "raw" / ROSTER_FOLDER)
    settings = Settings(warehouse_path=folder / "warehouse.sqlite")
    load_files([str(folder / "raw")], settings, show_progress=False)
    load_roster(folder / "raw" / ROSTER_FOLDER, settings)
    done = run_dbt(["build", "--exclude", "resource_type:test", "resource_type:unit_test", "--quiet"], settings,
                   capture=True)
    assert done.returncode == 0, done.stdout[-4000:]
    return settings
