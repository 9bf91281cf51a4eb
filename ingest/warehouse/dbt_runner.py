"""Running dbt from Python as a subprocess of this environment, with the project's profiles."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from ingest.output import Progress, say
from ingest.settings import PROJECT_DIR, Settings
from ingest.warehouse.lake import install_extensions, location
from ingest.warehouse.student_hash_salt import DEMO_SALT_WARNING, uses_demo_salt
from ingest.warehouse.writer import child_environment


def dbt_executable() -> str:
    candidate = Path(sys.executable).parent / "dbt"
    return str(candidate) if candidate.exists() else "dbt"


def dbt_environment(settings: Settings) -> dict[str, str]:
    install_extensions(settings.extension_dir)
    env = dict(os.environ)
    lake = location(settings)
    env["WAREHOUSE_PATH"] = str(settings.warehouse_path.resolve())
    env["WAREHOUSE_DATA_PATH"] = lake.data_path
    if settings.warehouse_catalog:
        env["WAREHOUSE_CATALOG"] = settings.warehouse_catalog
    env["DUCKDB_EXTENSION_DIR"] = str(settings.extension_dir.resolve())
    # The profile's target for the warehouse's catalog, unless one is asked for (bigquery).
    env.setdefault("DBT_TARGET", "dev" if lake.is_embedded else "postgres")
    env.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / "profiles"))
    return child_environment(env)


def run_dbt(args: list[str], settings: Settings, capture: bool = False) -> subprocess.CompletedProcess[str]:
    """Run `dbt <args>` in the project against the settings' warehouse and lake."""
    env = dbt_environment(settings)
    # dbt warns too, but its line scrolls away among a hundred others (or is captured).
    if env.get("DBT_TARGET", "dev") != "bigquery" and uses_demo_salt(env):
        say("dbt", DEMO_SALT_WARNING)
    return subprocess.run([dbt_executable(), *args], cwd=PROJECT_DIR, env=env,
                          check=False, text=True, capture_output=capture)


# "12:00:01  57 of 174 PASS not_null_..." : dbt's line for a finished node.
NODE_DONE = re.compile(r"^\S+\s+(\d+) of (\d+) (OK|PASS|WARN|ERROR|FAIL|SKIP|NO-OP)\b")
FAILED_STATES = ("ERROR", "FAIL")


def run_dbt_logged(args: list[str], settings: Settings, log_path: Path) -> tuple[int, list[str]]:
    """Run dbt with its whole output in `log_path` and one progress line on stderr.

    Returns the exit code and the lines worth showing a person when it failed: dbt's
    summary of errors and failures, from "Completed with" on.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    progress = Progress("dbt " + args[0], unit="nodes", item_unit="failed")
    tail: list[str] = []
    with open(log_path, "w") as log, subprocess.Popen(
            [dbt_executable(), *args, "--no-use-colors"], cwd=PROJECT_DIR, env=dbt_environment(settings),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:
            log.write(line)
            if match := NODE_DONE.match(line):
                progress.total = int(match.group(2))
                progress.advance(done=1, items=1 if match.group(3) in FAILED_STATES else 0)
            elif tail or "Completed with" in line:
                tail.append(line.rstrip())
        code = process.wait()
    progress.finish()
    return code, tail
