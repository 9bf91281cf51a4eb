"""Test helpers for what DuckDB did to run a query: its JSON profile (PRAGMA enable_profiling = 'json')."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.settings import Settings
from ingest.warehouse.lake import connect


def profiled_rows(settings: Settings, sql: str, profile_path: Path) -> tuple[int, dict[str, Any]]:
    """The number of rows `sql` returns on the warehouse (read-only) and the profile of running it."""
    with connect(settings, read_only=True) as warehouse:
        warehouse.execute("set variable student_hash_salt = 'any salt: only the plan is read'")
        warehouse.execute(f"pragma enable_profiling = 'json'; pragma profiling_output = '{profile_path}'")
        rows = int(warehouse.execute(f"select count(*) from ({sql}) as profiled").fetchall()[0][0])
        warehouse.execute("pragma disable_profiling")
    profile: dict[str, Any] = json.loads(profile_path.read_text())
    return rows, profile


def operators(profile: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every operator of the profile, parents before their children."""
    yield profile
    for child in profile.get("children", []):
        yield from operators(child)


def output_rows(profile: dict[str, Any], name: str, mentioning: str = "") -> list[int]:
    """The rows each operator called `name` produced (those whose details mention `mentioning`)."""
    return [int(operator.get("operator_cardinality", 0)) for operator in operators(profile)
            if operator.get("operator_name") == name and mentioning in json.dumps(operator.get("extra_info", {}))]
