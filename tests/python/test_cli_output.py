"""What the command line prints: help for every command, a version, progress fit for a log
file, and a `make run` that shows a summary rather than dbt's every line."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.cli import build_parser
from ingest.settings import DEFAULT_WAREHOUSE

PROJECT_DIR = Path(__file__).resolve().parents[2]
EVENT = '{"event_id":"e-%d","student_id":"s-1001","event_type":"login","timestamp":"2025-11-15T08:00:00Z"}'
ANSI = re.compile(r"\x1b\[")


def ingest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ingest", *args], cwd=PROJECT_DIR, text=True, capture_output=True,
                          env=dict(os.environ, **(env or {})), timeout=600)


def every_parser(parser: argparse.ArgumentParser, path: str = "ingest") -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(path, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += every_parser(child, f"{path} {name}")
    return found


PARSERS = every_parser(build_parser())


@pytest.mark.parametrize("path,parser", PARSERS, ids=[path for path, _ in PARSERS])
def test_every_command_has_a_description_and_clean_help(path: str, parser: argparse.ArgumentParser) -> None:
    assert parser.description, f"`{path} --help` has no description"
    text = parser.format_help()
    assert "%%" not in text


def test_the_help_names_the_warehouse_the_settings_default_to() -> None:
    """The top-level help said `warehouse/student_behavior.duckdb` long after the default became a
    DuckLake whose catalog is a SQLite file."""
    text = " ".join(build_parser().format_help().split())
    assert DEFAULT_WAREHOUSE in text
    assert ".duckdb" not in text


def test_version() -> None:
    done = ingest("--version")
    assert done.returncode == 0
    assert re.fullmatch(r"student-behavior-elt \d+\.\d+\.\d+ \(dbt-core [\d.]+, dbt-duckdb [\d.]+, dlt [\d.]+, "
                        r"duckdb [\d.]+\)\n", done.stdout), done.stdout


def test_progress_into_a_log_is_plain_lines_and_counts_each_file_once(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for n in range(3):
        (folder / f"part-{n}.jsonl").write_text("".join(EVENT % (100 * n + i) + "\n" for i in range(5)))

    done = ingest("files", str(folder), env={"WAREHOUSE_PATH": str(tmp_path / "wh" / "w.sqlite")})

    assert done.returncode == 0, done
    assert "\r" not in done.stderr, "a carriage return in a log file piles every update onto one line"
    progress = [line for line in done.stderr.splitlines() if line.startswith("load:")]
    assert progress and progress[-1].startswith("load: 3/3 files, 15 lines")
    assert len(progress) == len(set(progress)), done.stderr
    assert "loaded 15 lines from 3 files" in done.stdout


def test_make_run_shows_progress_and_a_summary_not_every_dbt_line(tmp_path: Path) -> None:
    log = PROJECT_DIR / "logs" / "dbt-build.log"
    done = ingest("run", "--students", "40", "--days", "2", "--out", str(tmp_path / "raw"),
                  env={"WAREHOUSE_PATH": str(tmp_path / "wh" / "w.sqlite")})

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert not ANSI.search(done.stdout + done.stderr), "colour codes in output that may go to a log"
    assert len(done.stdout.splitlines()) < 60, done.stdout
    assert "Rows per layer:" in done.stdout and f"the whole output is in {log}" in done.stdout
    assert " of " in log.read_text() and "Completed successfully" in log.read_text()
    assert "\r" not in done.stderr
