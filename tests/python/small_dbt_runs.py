"""A small loaded warehouse, and `dbt build` runs on it that write their target/ and logs/
next to it, so a test sees exactly what a run wrote."""

from __future__ import annotations

import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ingest.load.loader import load_files
from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import PROJECT_DIR, Settings
from ingest.warehouse.dbt_runner import dbt_executable
from ingest.warehouse.lake import connect

# Configuration a test must set itself when it wants it, never inherit from the shell.
CLEARED_ENVIRONMENT = ("STUDENT_HASH_SALT", "DBT_PRODUCTION", "DBT_TARGET", "WAREHOUSE_CATALOG", "WAREHOUSE_DATA_PATH")


def loaded_warehouse(folder: Path) -> Path:
    """20 students over 2 days in raw.events of folder/warehouse.sqlite; nothing built yet."""
    start = datetime.now(UTC).date() - timedelta(days=3)
    generate(GenerateConfig(students=20, days=2, start=start, seed=7, out=folder / "raw"), progress=False)
    settings = Settings(warehouse_path=folder / "warehouse.sqlite")
    load_files([str(folder / "raw")], settings, show_progress=False)
    return settings.warehouse_path


def dbt_build(folder: Path, warehouse: Path, *args: str, salt: str | None = None,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`dbt build <args>` on `warehouse` (the embedded one: a DuckLake catalog file), artifacts in folder/target and
    folder/logs; STUDENT_HASH_SALT is `salt` (unset when None)."""
    environment = {key: value for key, value in os.environ.items() if key not in CLEARED_ENVIRONMENT}
    environment.update(WAREHOUSE_PATH=str(warehouse),
                       DBT_PROFILES_DIR=str(PROJECT_DIR / "profiles"))
    if salt is not None:
        environment["STUDENT_HASH_SALT"] = salt
    environment.update(env or {})
    return subprocess.run(
        [dbt_executable(), "--no-use-colors", "build", *args,
         "--target-path", str(folder / "target"), "--log-path", str(folder / "logs")],
        cwd=PROJECT_DIR, env=environment, capture_output=True, text=True, check=False)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def latest_write(warehouse: Path) -> datetime:
    """When a run last wrote a row of silver.events_cleaned."""
    with connect(Settings(warehouse_path=warehouse), read_only=True) as connection:
        return connection.execute("select max(updated_at) from silver.events_cleaned").fetchall()[0][0]
