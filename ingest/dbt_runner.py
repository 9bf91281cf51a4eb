"""Running dbt from Python as a subprocess of this environment, with the project's profiles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ingest.settings import Settings
from ingest.student_hash_salt import DEMO_SALT_WARNING, uses_demo_salt

PROJECT_DIR = Path(__file__).resolve().parent.parent


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_environment(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env["WAREHOUSE_PATH"] = str(settings.warehouse_path.resolve())
    env["LAKE_PATH"] = str(settings.lake_path.resolve())
    env.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / "profiles"))
    return env


def run_dbt(args: list[str], settings: Settings, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` in the project against the settings' warehouse and lake."""
    env = dbt_environment(settings)
    # dbt warns too, but its line scrolls away among a hundred others (or is captured).
    if env.get("DBT_TARGET", "dev") != "bigquery" and uses_demo_salt(env):
        print(DEMO_SALT_WARNING, file=sys.stderr, flush=True)
    return subprocess.run([dbt_executable(), *args], cwd=PROJECT_DIR, env=env,
                          check=False, text=True, capture_output=capture)
