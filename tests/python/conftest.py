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
