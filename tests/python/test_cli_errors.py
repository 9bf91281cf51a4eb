"""Errors a person can act on: the command says what is wrong and what to do, exits non-zero,
and never prints a traceback."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

from ingest.settings import Settings
from ingest.warehouse.lake import connect

PROJECT_DIR = Path(__file__).resolve().parents[2]
EVENT = '{"event_id":"e-%d","student_id":"s-1001","event_type":"login","timestamp":"2025-11-15T08:00:00Z"}'


def ingest(*args: str, warehouse: Path | str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, WAREHOUSE_PATH=str(warehouse))
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=PROJECT_DIR, env=env, text=True,
                          capture_output=True, timeout=300)


def events_file(path: Path, first: int, count: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(EVENT % n + "\n" for n in range(first, first + count)))
    return path


def test_a_second_writer_waits_for_the_first_and_names_it(tmp_path: Path) -> None:
    """With the embedded catalog one writer commits at a time: a load started while another
    writer holds the warehouse waits, says who it waits for, and then loads."""
    warehouse = tmp_path / "wh" / "held.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from pathlib import Path; from ingest.settings import Settings; "
         "from ingest.warehouse.writer import warehouse_writer\n"
         f"with warehouse_writer(Settings(warehouse_path=Path({str(warehouse)!r})), 'holder'):\n"
         "    print('ok', flush=True); time.sleep(4)"],
        cwd=PROJECT_DIR, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        done = ingest("files", str(events_file(tmp_path / "in" / "a.jsonl", 0, 3)), "-q", warehouse=warehouse)
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 0, done
    assert f"waiting for pid {holder.pid} (" in done.stderr and "to finish" in done.stderr
    assert "loaded 3 lines" in done.stdout


def test_a_writer_outside_the_project_holding_the_catalog_is_a_clear_error(tmp_path: Path) -> None:
    """Something that writes the catalog without the project's writer lock (here: a SQLite
    client holding a write transaction) makes a load wait for the catalog's busy timeout,
    then fail with a message saying what is going on; readers still read."""
    warehouse = tmp_path / "wh" / "busy.sqlite"
    first_file = events_file(tmp_path / "in" / "a.jsonl", 0, 3)
    assert ingest("files", str(first_file), "-q", warehouse=warehouse).returncode == 0
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sqlite3, time; c = sqlite3.connect({str(warehouse)!r}, isolation_level=None); "
                               "c.execute('begin exclusive'); print('ok', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        read = ingest("query", "select count(*) as n from raw.events", "--format", "csv", warehouse=warehouse)
        done = ingest("files", str(events_file(tmp_path / "in" / "b.jsonl", 10, 3)), "-q", warehouse=warehouse)
    finally:
        holder.kill()
        holder.wait()
    assert read.returncode == 0 and read.stdout.splitlines() == ["n", "3"], read
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert "stayed locked by another writer" in done.stderr and "READ_ONLY" in done.stderr


def test_an_unwritable_warehouse_folder_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the warehouse folder should be")
    source = events_file(tmp_path / "in" / "a.jsonl", 0, 3)
    done = ingest("files", str(source), "-q", warehouse=blocker / "w.sqlite")
    assert done.returncode == 2, done
    assert "Traceback" not in done.stderr
    assert f"cannot write in the warehouse folder {blocker}" in done.stderr and "set WAREHOUSE_PATH" in done.stderr


def test_a_truncated_gzip_fails_alone_and_the_other_files_load(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    good = events_file(folder / "a.jsonl", 0, 3)
    whole = gzip.compress("".join(EVENT % n + "\n" for n in range(100, 2100)).encode())
    (folder / "b.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    events_file(folder / "c.jsonl", 10, 2)
    warehouse = tmp_path / "wh" / "w.sqlite"

    done = ingest("files", str(folder), "-q", warehouse=warehouse)

    assert done.returncode == 1, done
    assert "Traceback" not in done.stderr
    assert f"failed: {folder / 'b.jsonl.gz'}" in done.stderr and "complete gzip file" in done.stderr
    assert "loaded 5 lines from 2 files" in done.stdout
    with connect(Settings(warehouse_path=warehouse), read_only=True) as connection:
        landed = connection.execute("select source_file, count(*) from raw.events group by 1 order by 1").fetchall()
    assert landed == [(str(good), 3), (str(folder / "c.jsonl"), 2)]

    again = ingest("files", str(folder), "-q", warehouse=warehouse)
    assert again.returncode == 1 and "failed:" in again.stderr, "the bad file is reported again until it is fixed"
