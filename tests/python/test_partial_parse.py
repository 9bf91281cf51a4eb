"""dbt keeps its parse of the project between runs unless the project, its vars or the connection
settings it hashes change. Where the warehouse lives is not among them: every test, bench and
orchestration run names its own warehouse, and a full parse costs several seconds each time."""

from __future__ import annotations

from pathlib import Path

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt


def parse(warehouse: Path, target: Path, logs: Path) -> str:
    done = run_dbt(["--debug", "parse", "--target-path", str(target), "--log-path", str(logs)],
                   Settings(warehouse_path=warehouse), capture=True)
    assert done.returncode == 0, done.stdout[-3000:]
    return done.stdout


def test_a_run_on_another_warehouse_keeps_the_saved_parse(tmp_path: Path) -> None:
    target, logs = tmp_path / "target", tmp_path / "logs"
    first = parse(tmp_path / "a" / "warehouse.sqlite", target, logs)
    assert "Starting full parse" in first

    second = parse(tmp_path / "b" / "warehouse.sqlite", target, logs)

    assert "Unable to do partial parsing" not in second, [
        line for line in second.splitlines() if "Unable to do partial parsing" in line]
    assert "Partial parsing enabled" in second
