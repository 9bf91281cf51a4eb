"""The same models compile for BigQuery, offline, into SQL that BigQuery's grammar accepts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import sqlglot
from bigquery_offline import fake_keyfile

from ingest.settings import PROJECT_DIR
from ingest.warehouse.dbt_runner import dbt_executable

DUCKDB_ONLY = ("json_transform", "epoch_us", "regexp_full_match", "json_extract_string", "try_cast", "::")


# Set in the environment of the compile: BigQuery reads its salt from a table, so this value
# must reach no compiled SQL, artifact or log.
ENVIRONMENT_SALT = "bigquery-compile-secret-0123456789abcdefXYZ"


# Who each layer is granted to (dbt_project.yml, `+grants`): read from the environment.
GRANTEES = {"BIGQUERY_ANALYST_READERS": "group:analysts@example.org, user:ana@example.org",
            "BIGQUERY_ML_READERS": "serviceAccount:ml@offline-project.iam.gserviceaccount.com",
            "BIGQUERY_PIPELINE_READERS": ""}


def compile_for_bigquery(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, BIGQUERY_KEYFILE=str(fake_keyfile(tmp_path)), BIGQUERY_PROJECT="offline-project",
               DBT_PROFILES_DIR=str(PROJECT_DIR / "profiles"), STUDENT_HASH_SALT=ENVIRONMENT_SALT, **GRANTEES)
    return subprocess.run(
        [dbt_executable(), "compile", "--target", "bigquery", "--no-introspect", "--no-populate-cache",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"), "--no-partial-parse"],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False,
    )


@pytest.fixture(scope="module")
def compile_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("bigquery")
    result = compile_for_bigquery(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert ENVIRONMENT_SALT not in result.stdout + result.stderr
    return tmp_path


@pytest.fixture(scope="module")
def compiled_models(compile_folder: Path) -> dict[str, str]:
    folder = compile_folder / "target" / "compiled" / "student_behavior" / "models"
    return {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*.sql") if ".yml" not in str(p)}


def test_every_model_parses_as_bigquery_sql(compiled_models: dict[str, str]) -> None:
    assert len(compiled_models) >= 9
    for name, sql in compiled_models.items():
        sqlglot.parse(sql, read="bigquery")  # raises on anything BigQuery cannot read
        leftovers = [token for token in DUCKDB_ONLY if token in sql]
        assert not leftovers, f"{name} still has DuckDB-only syntax: {leftovers}"


def test_bigquery_reads_the_salt_from_its_table_and_never_compiles_it_in(
        compile_folder: Path, compiled_models: dict[str, str]) -> None:
    staging = compiled_models["staging/raw/stg_raw__events.sql"]
    assert "(select salt from `offline-project`.`restricted`.`student_hash_salt`)" in staging
    written = [path for folder in ("target", "logs") for path in (compile_folder / folder).rglob("*")
               if path.is_file() and ENVIRONMENT_SALT.encode() in path.read_bytes()]
    assert not written


def test_large_models_are_partitioned_by_day_and_clustered(tmp_path: Path) -> None:
    """The DDL head BigQuery gets (the adapter's own macros, offline): a query for one day
    scans one partition."""
    env = dict(os.environ, BIGQUERY_KEYFILE=str(fake_keyfile(tmp_path)), BIGQUERY_PROJECT="offline-project",
               DBT_PROFILES_DIR=str(PROJECT_DIR / "profiles"))
    result = subprocess.run(
        [dbt_executable(), "run-operation", "print_bigquery_table_ddl", "--target", "bigquery", "--no-populate-cache",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    ddl = {line.split("`.`")[-1].split("`")[0]: line for line in result.stdout.splitlines()
           if line.startswith("create or replace table")}
    assert "partition by date cluster by student_hash, course_id" in ddl["events_cleaned"]
    assert "partition by date cluster by student_hash" in ddl["sessions"]
    assert "partition by date cluster by student_hash" in ddl["student_daily_activity"]
    assert "partition by date cluster by course_id, chapter_id" in ddl["chapter_engagement"]
    assert "partition by date cluster by quiz_id, question_id" in ddl["question_attempts_summary"]
    assert "partition by as_of_date cluster by student_hash" in ddl["student_features"]
    assert "partition by timestamp_trunc(minute_start, day) cluster by course_id" in ddl["course_activity_realtime"]


def test_each_layer_is_granted_to_its_readers_only(compile_folder: Path) -> None:
    """raw and intermediate: the pipeline only (no grant unless BIGQUERY_PIPELINE_READERS); silver
    and gold: analysts; feature_store: ML services."""
    import json

    manifest = json.loads((compile_folder / "target" / "manifest.json").read_text())
    viewer = "roles/bigquery.dataViewer"
    analysts = ["group:analysts@example.org", "user:ana@example.org"]
    ml = ["serviceAccount:ml@offline-project.iam.gserviceaccount.com"]
    expected = {"raw": {}, "intermediate": {}, "silver": {viewer: analysts}, "gold": {viewer: analysts},
                "feature_store": {viewer: ml}}
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    assert {node["schema"] for node in models} == set(expected)
    for node in models:
        assert node["config"]["grants"] == expected[node["schema"]], node["name"]
