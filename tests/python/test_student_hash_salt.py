"""The salt rules of metrics.md (Pseudonymization), with real dbt builds on a small sample:
a real salt (quote and backslash included) builds and hashes as the contract says, is
written nowhere, a changed salt stops the build until a full refresh, a short salt is
refused, the demo salt warns and a production target refuses it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from small_dbt_runs import dbt_build, latest_write, loaded_warehouse, output
from warehouses import copy_warehouse

from ingest.settings import Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect
from ingest.warehouse.student_hash_salt import DEMO_SALT

# 40 characters, with the two that break naive quoting in SQL and in JSON.
REAL_SALT = "salt'with\\backslash-0123456789abcdefghij"
OTHER_SALT = "another-real-salt-of-forty-characters-42"


@pytest.fixture(scope="module")
def salted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose warehouse.sqlite was built once under REAL_SALT (build output in build.txt)."""
    folder = tmp_path_factory.mktemp("salted")
    warehouse = loaded_warehouse(folder)
    built = dbt_build(folder, warehouse, salt=REAL_SALT)
    (folder / "build.txt").write_text(f"exit {built.returncode}\n{output(built)}")
    return folder


def student_hashes(warehouse: Path) -> tuple[set[str], set[str]]:
    """The student_hash values of silver.events_cleaned, and each raw student_id of raw.events."""
    with connect(Settings(warehouse_path=warehouse), read_only=True) as connection:
        hashes = {h for (h,) in connection.execute(
            "select distinct student_hash from silver.events_cleaned").fetchall()}
        ids = {i for (i,) in connection.execute(
            "select distinct json_extract_string(raw_line, '$.student_id') from raw.events where json_valid(raw_line)"
        ).fetchall() if i}
    return hashes, ids


def contract_hashes(student_ids: set[str], salt: str) -> set[str]:
    return {hashlib.sha256(f"{salt}:{student_id}".encode()).hexdigest() for student_id in student_ids}


def test_a_real_salt_with_a_quote_and_a_backslash_builds_and_hashes_as_the_contract_says(salted: Path) -> None:
    build = (salted / "build.txt").read_text()
    assert build.startswith("exit 0"), build[-5000:]
    hashes, student_ids = student_hashes(salted / "warehouse.sqlite")
    assert hashes and hashes <= contract_hashes(student_ids, REAL_SALT)


def test_the_salt_is_written_in_no_artifact_log_lake_file_or_table(salted: Path) -> None:
    # As typed, as a SQL literal would double its quote, as JSON would escape its backslash.
    spellings = {REAL_SALT, REAL_SALT.replace("'", "''"), json.dumps(REAL_SALT)[1:-1]}
    files = [path for folder in ("target", "logs", "warehouse.sqlite.files") for path in (salted / folder).rglob("*")
             if path.is_file()]
    files += [salted / "warehouse.sqlite", salted / "build.txt"]
    assert len(files) > 20
    leaks = [(str(path), spelling) for path in files for spelling in spellings
             if spelling.encode() in path.read_bytes()]
    assert leaks == []


def test_a_changed_salt_stops_the_build_until_a_full_refresh(salted: Path, tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.sqlite"
    copy_warehouse(salted / "warehouse.sqlite", warehouse)
    written_before = latest_write(warehouse)

    changed = dbt_build(tmp_path, warehouse, salt=OTHER_SALT)
    partial_refresh = dbt_build(tmp_path, warehouse, "--full-refresh", "-s", "+events_cleaned", salt=OTHER_SALT)

    for refused in (changed, partial_refresh):
        assert refused.returncode == 1, output(refused)[-3000:]
        assert "The student hash salt differs from the one this warehouse was built with" in output(refused)
        assert "run `dbt build --full-refresh` (without a selection)" in output(refused)
    assert latest_write(warehouse) == written_before

    refreshed = dbt_build(tmp_path, warehouse, "--full-refresh", salt=OTHER_SALT)
    assert refreshed.returncode == 0, output(refreshed)[-5000:]
    hashes, student_ids = student_hashes(warehouse)
    assert hashes and hashes <= contract_hashes(student_ids, OTHER_SALT)
    assert dbt_build(tmp_path, warehouse, "-s", "events_cleaned", salt=OTHER_SALT).returncode == 0
    assert dbt_build(tmp_path, warehouse, "-s", "events_cleaned", salt=REAL_SALT).returncode == 1


def test_an_unfinished_full_refresh_under_a_new_salt_keeps_ordinary_runs_stopped(salted: Path, tmp_path: Path) -> None:
    """A full refresh marks the fingerprint `rebuilding` on-run-start and `complete` only once
    every model is built; one that died in between leaves hashes of two salts behind."""
    warehouse = tmp_path / "warehouse.sqlite"
    copy_warehouse(salted / "warehouse.sqlite", warehouse)
    with connect(Settings(warehouse_path=warehouse)) as connection:
        connection.execute("update ops.student_hash_salt_fingerprint set state = 'rebuilding'")

    refused = dbt_build(tmp_path, warehouse, "-s", "events_cleaned", salt=REAL_SALT)

    assert refused.returncode == 1, output(refused)[-3000:]
    assert "has not finished every model, so the warehouse still mixes hashes of two salts" in output(refused)


def test_a_salt_shorter_than_32_characters_is_refused(salted: Path, tmp_path: Path) -> None:
    for salt in ("x", REAL_SALT[:31]):
        refused = dbt_build(tmp_path, salted / "warehouse.sqlite", salt=salt)

        assert refused.returncode == 1, output(refused)[-3000:]
        assert f"The student hash salt has {len(salt)} characters, fewer than 32" in output(refused)
        assert "set STUDENT_HASH_SALT to a secret of at least 32 characters" in output(refused)


def test_the_demo_salt_warns_on_every_run_in_dbt_and_in_the_ingest_cli(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDENT_HASH_SALT", raising=False)
    monkeypatch.delenv("DBT_PRODUCTION", raising=False)
    monkeypatch.delenv("DBT_TARGET", raising=False)
    settings = Settings(warehouse_path=loaded_warehouse(tmp_path))
    log_path = ["--log-path", str(tmp_path / "logs"), "--target-path", str(tmp_path / "target")]

    runs = [run_dbt(["seed", *log_path], settings, capture=True),
            run_dbt(["run", "-s", "stg_raw__events", *log_path], settings, capture=True)]

    for run in runs:
        assert run.returncode == 0, output(run)[-3000:]
        assert "DEMO SALT: student_hash uses the public demo salt" in run.stdout
    assert capsys.readouterr().err.count("STUDENT_HASH_SALT is not set, so student_hash uses the public demo salt") == 2
    assert (tmp_path / "logs" / "dbt.log").read_text().count("[warn ] [MainThread]: WARNING: DEMO SALT") == 2


def test_a_production_target_refuses_the_demo_salt(salted: Path, tmp_path: Path) -> None:
    runs = [dbt_build(tmp_path, salted / "warehouse.sqlite", env={"DBT_PRODUCTION": "true"}),
            dbt_build(tmp_path, salted / "warehouse.sqlite", "--vars", "{production: true}", salt=DEMO_SALT)]

    for refused in runs:
        assert refused.returncode == 1, output(refused)[-3000:]
        refusal = "is marked production (var production, DBT_PRODUCTION=true) and refuses the public demo salt"
        assert refusal in output(refused)
