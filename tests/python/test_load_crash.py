"""The loader killed with SIGKILL at any step loses no line and lands none twice.

A real `python -m ingest files` process is started on a sample of ~340k events and
killed while dlt extracts, normalizes and loads (found by watching dlt's working
folder), several times in a row on the same warehouse; a last run then finishes. Every
line of every file must be in `raw.events` exactly once, `raw.loaded_files` must list
every file once with its true line count, and no copy of the raw data may stay in the
loader's working folder.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest

from ingest.sample.generate import GenerateConfig, generate
from ingest.settings import Settings
from ingest.warehouse.lake import connect

PROJECT_DIR = Path(__file__).resolve().parents[2]
PACKAGE = "student_behavior_raw"

# (what to wait for in dlt's working folder, seconds to wait after it appears)
KILL_POINTS = [
    ("normalize/*/1*", 0.3),  # extracting: a package being written, not yet listed as extracted
    ("normalize/extracted/1*", 0.0),  # extracted, normalizing
    ("load/normalized/1*", 0.2),  # loading: some jobs committed, `_dlt_loads` not written
    ("load/normalized/1*", 0.6),
]


def _line_count(path: Path) -> int:
    data = gzip.decompress(path.read_bytes()) if path.name.endswith(".gz") else path.read_bytes()
    return data.count(b"\n") + (0 if data.endswith(b"\n") or not data else 1)


def _start_loader(sample: Path, settings: Settings) -> subprocess.Popen[str]:
    env = dict(os.environ, WAREHOUSE_PATH=str(settings.warehouse_path))
    return subprocess.Popen([sys.executable, "-m", "ingest", "files", str(sample), "-q"], cwd=PROJECT_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _kill_at(process: subprocess.Popen[str], working: Path, pattern: str, delay: float) -> bool:
    """SIGKILL once `pattern` exists under the working folder (+ delay); False if the run ended first."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if any(working.glob(pattern)):
            time.sleep(delay)
            if process.poll() is not None:
                return False
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.01)
    process.wait()
    return False


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("crash") / "sample"
    generate(GenerateConfig(students=2000, days=6, start=date(2025, 11, 3), seed=11, out=out),
             progress=False)
    return out


def test_sigkill_at_every_step_loses_nothing_and_doubles_nothing(sample: Path, tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "warehouse" / "crash.sqlite")
    working = settings.pipelines_dir / PACKAGE
    files = sorted(p for p in sample.rglob("*.jsonl.gz"))
    expected = {str(p.resolve()): _line_count(p) for p in files}

    killed = 0
    for pattern, delay in KILL_POINTS:
        killed += _kill_at(_start_loader(sample, settings), working, pattern, delay)
    assert killed >= 3, "the loader finished before most kill points: use a bigger sample"

    final = _start_loader(sample, settings)
    output, _ = final.communicate(timeout=300)
    assert final.returncode == 0, output

    with connect(settings, read_only=True) as connection:
        per_file = dict(connection.execute(
            "select source_file, count(*) from raw.events group by source_file").fetchall())
        doubled = connection.execute(
            "select count(*) - count(distinct (source_file, line_number)) from raw.events").fetchone()
        bookkeeping = connection.execute(
            "select source_file, count(*), sum(rows) from raw.loaded_files group by source_file").fetchall()
        uncommitted = connection.execute(
            "select count(*) from raw.events where _dlt_load_id not in "
            "(select load_id from raw._dlt_loads where status = 0)").fetchone()
    assert per_file == expected
    assert doubled == (0,)
    assert {name: (copies, lines) for name, copies, lines in bookkeeping} == {
        name: (1, lines) for name, lines in expected.items()}
    assert uncommitted == (0,)
    assert "interrupted" in output, "the run after a crash must say what it discarded"

    again = _start_loader(sample, settings)
    output, _ = again.communicate(timeout=300)
    assert again.returncode == 0 and "nothing new to load" in output, output
    leftovers = [p for p in working.rglob("*") if p.is_file() and p.suffix in (".parquet", ".gz", ".jsonl")]
    assert leftovers == [], "the loader's working folder keeps a copy of raw data"
