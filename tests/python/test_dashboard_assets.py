"""The dashboards' code (dashboards/assets, dashboards/security.yaml) holds together, and no
role can read a student-level dataset without a row-level security rule scoping it.

The browser test (tests/dashboards, `make test-dashboards`) checks what Superset shows; these
checks run in `make test` in a second and name the file to fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.settings import PROJECT_DIR

ASSETS = PROJECT_DIR / "dashboards" / "assets"
SECURITY = PROJECT_DIR / "dashboards" / "security.yaml"


def load(folder: str) -> dict[str, dict[str, Any]]:
    return {path.stem: yaml.safe_load(path.read_text()) for path in sorted((ASSETS / folder).rglob("*.yaml"))}


@pytest.fixture(scope="module")
def security() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SECURITY.read_text())
    return loaded


def test_every_chart_names_a_dataset_and_every_dashboard_chart_exists() -> None:
    datasets = {data["uuid"] for data in load("datasets").values()}
    databases = {data["uuid"] for data in load("databases").values()}
    charts = load("charts")
    assert {data["database_uuid"] for data in load("datasets").values()} <= databases
    assert not [name for name, chart in charts.items() if chart["dataset_uuid"] not in datasets]
    chart_ids = {chart["uuid"] for chart in charts.values()}
    for name, dashboard in load("dashboards").items():
        used = {item["meta"]["uuid"] for item in dashboard["position"].values()
                if isinstance(item, dict) and item.get("type") == "CHART"}
        assert used and used <= chart_ids, f"dashboards/assets/dashboards/{name}.yaml names a missing chart"


def test_security_names_existing_datasets_roles_and_dashboards(security: dict[str, Any]) -> None:
    tables = {data["table_name"] for data in load("datasets").values()}
    roles = {role["name"] for role in security["roles"]} | {"Admin", "Gamma", "Alpha"}
    slugs = {data["slug"] for data in load("dashboards").values()}
    for role in security["roles"]:
        assert set(role.get("datasets", [])) <= tables, role["name"]
    for rule in security["row_level_security"]:
        assert set(rule["datasets"]) <= tables and set(rule["roles"]) <= roles, rule["name"]
    for user in security["users"]:
        assert set(user["roles"]) <= roles, user["username"]
    assert {entry["slug"] for entry in security["dashboards"]} == slugs


def test_no_role_reads_student_rows_without_a_rule(security: dict[str, Any]) -> None:
    """A dataset with student_hash, granted to a role, has a rule for every user of that role."""
    columns = {data["table_name"]: {column["column_name"] for column in data["columns"]}
               for data in load("datasets").values()}
    for role in security["roles"]:
        users = [user for user in security["users"] if role["name"] in user["roles"]]
        for dataset in role.get("datasets", []):
            if "student_hash" not in columns[dataset]:
                continue
            for user in users:
                rules = [rule["name"] for rule in security["row_level_security"]
                         if dataset in rule["datasets"] and set(rule["roles"]) & set(user["roles"])]
                assert rules, f"{user['username']} reads {dataset} (student_hash) with no row-level security rule"


def test_no_raw_student_id_in_the_assets() -> None:
    """Datasets read the marts (student_hash), never raw.events."""
    for path in ASSETS.rglob("*.yaml"):
        text = path.read_text()
        assert "raw.events" not in text and "student_id" not in text, path


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path}: {line!r} is not pinned exactly"
            found[name.lower().replace("_", "-")] = version
    return found


def test_superset_requirements_are_pinned_in_the_full_set() -> None:
    """dashboards/requirements.in pins what .venv-superset needs; requirements.txt, the full set, agrees."""
    direct = pins(PROJECT_DIR / "dashboards" / "requirements.in")
    full = pins(PROJECT_DIR / "dashboards" / "requirements.txt")
    assert {name: full.get(name) for name in direct} == direct
    assert direct["apache-superset"] == "6.1.0" and direct["flask-caching"] == "2.3.1"
    assert full["duckdb"] == pins(PROJECT_DIR / "requirements.txt")["duckdb"] == "1.5.5"
