"""dbt vars are checked once, on-run-start, before anything runs: a bad one stops `dbt build`
with exit code 1 and a message naming the var and the fix, and no value reaches SQL unquoted
(a quote in start_date or WAREHOUSE_PATH runs nothing it should not)."""

from __future__ import annotations

from pathlib import Path

import pytest
from small_dbt_runs import dbt_build, latest_write, loaded_warehouse, output
from warehouses import copy_warehouse

SALT = "a-real-salt-for-the-dbt-var-tests-000042"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose warehouse.sqlite is fully built."""
    folder = tmp_path_factory.mktemp("vars")
    warehouse = loaded_warehouse(folder)
    result = dbt_build(folder, warehouse, salt=SALT)
    assert result.returncode == 0, output(result)[-5000:]
    return folder


# Every var wrong at once (one dbt start-up instead of one each): all are reported together.
BAD_VARS = (
    "{start_date: '2025-11-01 00:00', end_date: '2025-02-29', reporting_timezone: \"UTC') or true or ('\", "
    "session_inactivity_minutes: 0, max_future_hours: '24 or true', check_all_rows: 1, "
    "production: 'yes'}"
)
BAD_VAR_MESSAGES = (
    "Invalid dbt var start_date = '2025-11-01 00:00': expected a calendar date written YYYY-MM-DD",
    "Invalid dbt var end_date = '2025-02-29': expected a calendar date written YYYY-MM-DD",
    "Invalid dbt var reporting_timezone = \"UTC') or true or ('\": expected an IANA time zone name",
    "Invalid dbt var session_inactivity_minutes = 0: expected a whole number from 1 to 2147483647",
    "Invalid dbt var max_future_hours = '24 or true': expected a whole number from 1 to 2147483647",
    "Invalid dbt var check_all_rows = 1: expected true or false",
    "Invalid dbt var production = 'yes': expected true or false",
)


def test_bad_vars_stop_the_build_with_a_message_naming_each_and_its_fix(built: Path, tmp_path: Path) -> None:
    written_before = latest_write(built / "warehouse.sqlite")

    result = dbt_build(tmp_path, built / "warehouse.sqlite", "--vars", BAD_VARS, salt=SALT)

    assert result.returncode == 1, output(result)[-3000:]
    missing = [message for message in BAD_VAR_MESSAGES if message not in output(result)]
    assert missing == [], output(result)[-3000:]
    assert output(result).count("Fix: --vars") == len(BAD_VAR_MESSAGES)
    assert latest_write(built / "warehouse.sqlite") == written_before


@pytest.mark.parametrize(("dbt_vars", "message"), [
    ("{end_date: 2025-11-02}", "start_date and end_date go together, but only end_date is set"),
    ("{start_date: 2025-11-05, end_date: 2025-11-01}", "start_date 2025-11-05 is after end_date 2025-11-01"),
])
def test_a_backfill_needs_both_dates_in_order(built: Path, tmp_path: Path, dbt_vars: str, message: str) -> None:
    result = dbt_build(tmp_path, built / "warehouse.sqlite", "--vars", dbt_vars, salt=SALT)

    assert result.returncode == 1, output(result)[-3000:]
    assert message in output(result)
    assert "Fix: give both, e.g. --vars '{start_date: 2025-11-01, end_date: 2025-11-07}'" in output(result)


def test_a_quote_in_start_date_recomputes_nothing(built: Path, tmp_path: Path) -> None:
    """Pasted into the backfill filter as text, this start_date would recompute every row."""
    injection = "2025-11-01' as date) and cast('2025-11-02' as date) or true or date between cast('2025-11-01"
    written_before = latest_write(built / "warehouse.sqlite")

    result = dbt_build(tmp_path, built / "warehouse.sqlite", "-s", "events_cleaned",
                       "--vars", f'{{start_date: "{injection}", end_date: 2025-11-02}}', salt=SALT)

    assert result.returncode == 1, output(result)[-3000:]
    assert "Invalid dbt var start_date" in output(result)
    assert latest_write(built / "warehouse.sqlite") == written_before


def test_a_warehouse_path_with_quotes_is_used_as_is_and_runs_no_other_statement(built: Path, tmp_path: Path) -> None:
    """Pasted into an ATTACH as text, this path would run a second statement, a copy that
    writes a file (which no rollback undoes); it is a strange but valid folder name."""
    stacked_file = tmp_path / "pwned.csv"
    strange = tmp_path / f"wh'); copy (select 42 as pwned) to '{stacked_file}'; select ('" / "warehouse.sqlite"
    copy_warehouse(built / "warehouse.sqlite", strange)

    result = dbt_build(tmp_path, strange, "-s", "events_cleaned", salt=SALT)

    assert result.returncode == 0, output(result)[-5000:]
    assert not stacked_file.exists()
    assert list(Path(f"{strange}.files", "silver", "events_cleaned").glob("date=*/*.parquet"))
