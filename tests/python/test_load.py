"""The raw loader: every line lands once, as its exact text, with lineage."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest

from ingest.cli import main
from ingest.errors import InputError
from ingest.load.loader import load_files
from ingest.settings import Settings
from ingest.warehouse.lake import connect

EVENT = '{"event_id":"e1","student_id":"s-1","event_type":"login","timestamp":"2025-11-15T08:00:00Z"}'


def rows(settings: Settings, sql: str) -> list[tuple]:
    with connect(settings, read_only=True) as connection:
        return connection.execute(sql).fetchall()


def test_lines_land_as_exact_text_with_lineage(tmp_path: Path, settings: Settings) -> None:
    source = tmp_path / "in" / "events.jsonl"
    source.parent.mkdir()
    source.write_bytes(f"{EVENT}\n{{not json\n\n  {EVENT}  \r\nlast line without newline".encode())

    report = load_files([str(source)], settings, show_progress=False)

    assert report.rows == 5
    landed = rows(settings, "select line_number, raw_line, source_file from raw.events order by line_number")
    assert [(n, text) for n, text, _ in landed] == [
        (1, EVENT), (2, "{not json"), (3, ""), (4, f"  {EVENT}  "), (5, "last line without newline"),
    ]
    assert {file for _, _, file in landed} == {str(source.resolve())}
    lineage = rows(settings, "select count(distinct _dlt_load_id), count(distinct loaded_at) from raw.events")
    assert lineage == [(1, 1)]


def test_second_load_of_the_same_files_adds_nothing(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text(EVENT + "\n")
    (folder / "b.ndjson").write_text(EVENT + "\n" + EVENT + "\n")

    first = load_files([str(folder)], settings, show_progress=False)
    second = load_files([str(folder)], settings, show_progress=False)

    assert first.rows == 3 and len(first.files_loaded) == 2
    assert second.rows == 0 and second.files_loaded == []
    assert sorted(Path(p).name for p, _ in second.files_skipped) == ["a.jsonl", "b.ndjson"]
    assert rows(settings, "select count(*) from raw.events") == [(3,)]
    assert rows(settings, "select count(*) from raw.loaded_files") == [(2,)]


def test_plain_and_gzipped_files_land_the_same_lines(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    text = "\n".join([EVENT, "{broken", EVENT.replace("e1", "e2")]) + "\n"
    (folder / "plain.jsonl").write_text(text)
    with gzip.open(folder / "packed.jsonl.gz", "wt") as handle:
        handle.write(text)

    load_files([str(folder)], settings, show_progress=False)

    by_file = rows(settings, """
        select regexp_extract(source_file, '[^/]+$'), list(raw_line order by line_number)
        from raw.events group by 1 order by 1""")
    assert by_file[0][1] == by_file[1][1] == text.splitlines()


def test_a_json_array_file_lands_element_by_element(tmp_path: Path, settings: Settings) -> None:
    source = tmp_path / "batch.json"
    source.write_text(f"[\n  {EVENT},\n  {{\"event_id\": 7}}\n]\n")

    load_files([str(source)], settings, show_progress=False)

    assert rows(settings, "select line_number, raw_line from raw.events order by 1") == [
        (1, EVENT), (2, '{"event_id":7}'),
    ]


def test_invalid_utf8_still_lands(tmp_path: Path, settings: Settings) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_bytes(b'{"event_id":"\xff\xfe"}\n' + EVENT.encode() + b"\n")

    report = load_files([str(source)], settings, show_progress=False)

    assert report.rows == 2
    assert rows(settings, "select raw_line from raw.events where line_number = 1") == [('{"event_id":"\ufffd\ufffd"}',)]


def test_a_missing_path_is_a_clear_error(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        load_files([str(tmp_path / "nowhere")], settings, show_progress=False)


def test_the_command_line_reports_a_missing_path_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.sqlite"))

    code = main(["files", str(tmp_path / "nowhere.jsonl")])

    assert code == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nowhere.jsonl'}: no such file or folder"


def test_a_truncated_gzip_file_is_reported_and_lands_nothing(tmp_path: Path, settings: Settings) -> None:
    source = tmp_path / "cut.jsonl.gz"
    source.write_bytes(gzip.compress((EVENT + "\n").encode() * 1000)[:200])

    report = load_files([str(source)], settings, show_progress=False)

    assert [(name, "cannot read the file" in why) for name, why in report.files_failed] == [(str(source), True)]
    assert report.files_loaded == [] and report.rows == 0
    assert rows(settings, "select count(*) from raw.events") == [(0,)]


def test_files_other_than_events_are_refused_by_name(tmp_path: Path, settings: Settings) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("hello")

    with pytest.raises(InputError, match="not an event file"):
        load_files([str(source)], settings, show_progress=False)


def test_the_warehouse_refuses_a_raw_record_without_its_line(tmp_path: Path, settings: Settings) -> None:
    """raw.events has no dbt not_null test on raw_line (it would read every line ever loaded, each
    build): the loader declares the lineage columns NOT NULL and the warehouse enforces it."""
    source = tmp_path / "events.jsonl"
    source.write_text(EVENT + "\n")
    load_files([str(source)], settings, show_progress=False)

    with connect(settings) as connection:
        for column in ("raw_line", "source_file", "line_number", "loaded_at", "_dlt_load_id"):
            with pytest.raises(duckdb.ConstraintException, match="NOT NULL"):
                connection.execute(
                    f"insert into raw.events by name select * replace (null as {column}) from raw.events")
    assert rows(settings, "select count(*) from raw.events") == [(1,)]
