"""Mobile batch files as CSV, and the folder watcher (`python -m ingest watch DIR`)."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from ingest.cli import main
from ingest.errors import InputError
from ingest.files.csv_events import csv_records
from ingest.load.loader import load_files
from ingest.load.watch import FolderWatcher, WatchConfig, watch
from ingest.settings import PROJECT_DIR, Settings
from ingest.warehouse.dbt_runner import run_dbt
from ingest.warehouse.lake import connect

HEADER = "event_id,student_id,event_type,timestamp,page_url,course_id,chapter_id,question_id,metadata,context"
LOGIN = '{"event_id":"e1","student_id":"s-1","event_type":"login","timestamp":"2025-11-15T08:00:00Z"}'
JSONL_EVENT = LOGIN.replace("e1", "j1")


def write(path: Path, text: str, age_seconds: float = 120.0) -> Path:
    """Write a file whose mtime lies `age_seconds` in the past (settled, unless 0)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    if age_seconds:
        past = time.time() - age_seconds
        os.utime(path, (past, past))
    return path


def records(tmp_path: Path, text: str, name: str = "batch.csv") -> list[tuple[int, str]]:
    return [(r.line_number, r.raw_line) for r in csv_records(write(tmp_path / name, text))]


def rows(settings: Settings, sql: str) -> list[tuple]:
    with connect(settings, read_only=True) as connection:
        return connection.execute(sql).fetchall()


# --------------------------------------------------------------------------- CSV records


def test_a_record_becomes_the_json_object_its_cells_describe(tmp_path: Path) -> None:
    text = (f"{HEADER}\n"
            'e1,s-1,page_view,2025-11-15T08:00:00Z,https://lms.example.org/a?x=1,alg1,ch3,,'
            '"{""scroll_depth"": 0.8, ""duration_seconds"": 95}","{""ip"": ""203.0.113.7"", ""platform"": ""ios""}"\n')

    assert records(tmp_path, text) == [(2, json.dumps({
        "event_id": "e1", "student_id": "s-1", "event_type": "page_view", "timestamp": "2025-11-15T08:00:00Z",
        "page_url": "https://lms.example.org/a?x=1", "course_id": "alg1", "chapter_id": "ch3",
        "metadata": {"scroll_depth": 0.8, "duration_seconds": 95},
        "context": {"ip": "203.0.113.7", "platform": "ios"},
    }, separators=(",", ":")))]


def test_quoted_commas_and_line_breaks_stay_in_their_cell(tmp_path: Path) -> None:
    text = ("event_id,student_id,event_type,timestamp,page_url\n"
            'e1,"Doe, Jane",login,2025-11-15T08:00:00Z,"line one\nline two"\n'
            "e2,s-2,login,2025-11-15T08:00:00Z,\n")

    assert records(tmp_path, text) == [
        (2, '{"event_id":"e1","student_id":"Doe, Jane","event_type":"login","timestamp":"2025-11-15T08:00:00Z",'
            '"page_url":"line one\\nline two"}'),
        (4, '{"event_id":"e2","student_id":"s-2","event_type":"login","timestamp":"2025-11-15T08:00:00Z"}'),
    ]


def test_empty_cells_are_absent_keys_and_text_is_kept_as_sent(tmp_path: Path) -> None:
    text = ("event_id,student_id,event_type,timestamp,question_id,metadata\n"
            'e1,,login, 2025-11-15T08:00:00Z ,"",\n')

    assert records(tmp_path, text) == [
        (2, '{"event_id":"e1","event_type":"login","timestamp":" 2025-11-15T08:00:00Z "}'),
    ]


def test_json_cells_are_embedded_when_they_parse_and_kept_as_strings_otherwise(tmp_path: Path) -> None:
    text = ("event_id,student_id,event_type,timestamp,metadata,context\n"
            'e1,s,login,t,"{""watched_seconds"": 12345678901234567890123}",{not json\n'
            "e2,s,login,t,NaN,[1]\n"
            'e3,s,login,t,5,"""text"""\n')

    assert [json.loads(line) for _, line in records(tmp_path, text)] == [
        {"event_id": "e1", "student_id": "s", "event_type": "login", "timestamp": "t",
         "metadata": {"watched_seconds": 12345678901234567890123}, "context": "{not json"},
        {"event_id": "e2", "student_id": "s", "event_type": "login", "timestamp": "t", "metadata": "NaN",
         "context": [1]},
        {"event_id": "e3", "student_id": "s", "event_type": "login", "timestamp": "t", "metadata": 5,
         "context": "text"},
    ]


def test_columns_in_any_order_land_in_the_contract_order(tmp_path: Path) -> None:
    text = "timestamp , event_type,student_id,event_id\r\n2025-11-15T08:00:00Z,login,s-1,e1\r\n"

    assert records(tmp_path, text) == [(2, LOGIN)]


def test_line_numbers_are_the_physical_line_where_each_record_starts(tmp_path: Path) -> None:
    text = ("\ufeffevent_id,student_id,event_type,timestamp,page_url\r\n"
            "\r\n"
            'e1,s,login,t,"a\r\nb\r\nc"\r\n'
            "e2,s,login,t,\r\n"
            "e3,s,login,t,")  # no final line break

    assert [number for number, _ in records(tmp_path, text)] == [3, 6, 7]


def test_a_gzipped_csv_reads_like_the_plain_one(tmp_path: Path) -> None:
    text = "event_id,student_id,event_type,timestamp\ne1,s-1,login,2025-11-15T08:00:00Z\n"

    assert records(tmp_path, text, "batch.csv.gz") == records(tmp_path, text) == [(2, LOGIN)]


def test_malformed_records_land_as_their_raw_text_and_reading_goes_on(tmp_path: Path) -> None:
    text = ("event_id,student_id,event_type,timestamp\n"
            'e1,s,"login,t\n'         # unbalanced quote: would swallow the rest of the file
            "e2,s,login,t\n"
            "e3,s,login,t,extra\n"    # a cell too many
            "e4,s\n"                  # too few
            'e5,"s"x,login,t\n'       # text after a closing quote
            '{"event_id":"e6"}\n'     # one cell: a JSON line in a CSV file is still a bad record
            "e7,s,login,t\n")

    assert records(tmp_path, text) == [
        (2, 'e1,s,"login,t'),
        (3, '{"event_id":"e2","student_id":"s","event_type":"login","timestamp":"t"}'),
        (4, "e3,s,login,t,extra"),
        (5, "e4,s"),
        (6, 'e5,"s"x,login,t'),
        (7, '{"event_id":"e6"}'),
        (8, '{"event_id":"e7","student_id":"s","event_type":"login","timestamp":"t"}'),
    ]


def test_an_unbalanced_quote_on_the_last_record_loses_nothing(tmp_path: Path) -> None:
    text = 'event_id,student_id,event_type,timestamp\ne1,s,login,t\ne2,s,login,"t\n'

    assert records(tmp_path, text)[-1] == (3, 'e2,s,login,"t')


@pytest.mark.parametrize(("text", "message"), [
    ("e1,s-1,login,2025-11-15T08:00:00Z\n", "no CSV header row; the first line must name the columns"),
    ("event_id,student_id,event_type,timestamp,device,\n",
     r"unknown CSV columns: 'device' \(column 5\), '' \(column 6\)"),
    ("event_id,student_id,timestamp,metadata\n", "missing required CSV columns: event_type"),
    ("event_id,student_id,event_type,timestamp,event_id\n", "CSV column named more than once: event_id"),
    ("", "empty CSV file"),
    ('event_id,"student_id\n', "cannot read the CSV header row"),
])
def test_a_bad_header_is_a_one_line_error_naming_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        records(tmp_path, text)


# --------------------------------------------------------------------------- loading CSV


def test_a_csv_file_lands_one_raw_line_per_record(tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "in"
    write(folder / "mobile.csv", 'event_id,student_id,event_type,timestamp\ne1,s-1,login,2025-11-15T08:00:00Z\n'
                                 'e2,s-2,"login\n')
    write(folder / "mobile.csv.gz", "event_id,student_id,event_type,timestamp\n\ne1,s-1,login,2025-11-15T08:00:00Z\n")
    write(folder / "web.jsonl", JSONL_EVENT + "\n")

    report = load_files([str(folder)], settings, show_progress=False)

    assert report.rows == 4
    assert rows(settings, """
        select regexp_extract(source_file, '[^/]+$'), line_number, raw_line from raw.events order by all""") == [
        ("mobile.csv", 2, LOGIN), ("mobile.csv", 3, 'e2,s-2,"login'), ("mobile.csv.gz", 3, LOGIN),
        ("web.jsonl", 1, JSONL_EVENT),
    ]
    assert rows(settings, "select regexp_extract(source_file, '[^/]+$'), rows from raw.loaded_files order by 1") == [
        ("mobile.csv", 2), ("mobile.csv.gz", 1), ("web.jsonl", 1),
    ]


def test_the_command_line_reports_a_bad_csv_header_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "w.sqlite"))
    source = write(tmp_path / "bad.csv", "event_id,student_id,event_type,timestamp,colour\n")

    code = main(["files", "-q", str(source)])

    assert code == 1  # the file failed; any other file named would have loaded
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"failed: {source.resolve()}: unknown CSV columns: 'colour' (column 5)")
    assert "\n" not in error


# --------------------------------------------------------------------------- the watcher


@pytest.fixture
def inbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WAREHOUSE_PATH", str(tmp_path / "warehouse" / "w.sqlite"))
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def watch_once(inbox: Path, *options: str) -> int:
    return main(["watch", str(inbox), "--once", *options])


def landed(inbox: Path) -> list[tuple]:
    return rows(Settings.from_env(),
                "select regexp_extract(source_file, 'inbox/(.*)$', 1), line_number from raw.events order by all")


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def today(inbox: Path) -> str:
    return next((inbox / "archive").iterdir()).name


def test_a_complete_file_is_loaded_then_archived_under_the_load_date(inbox: Path) -> None:
    write(inbox / "phone-1.csv", "event_id,student_id,event_type,timestamp\ne1,s-1,login,2025-11-15T08:00:00Z\n")
    write(inbox / "2025-11-26" / "web.jsonl.gz", JSONL_EVENT + "\n")

    assert watch_once(inbox) == 0

    assert landed(inbox) == [("2025-11-26/web.jsonl.gz", 1), ("phone-1.csv", 2)]
    day = today(inbox)
    assert files_under(inbox) == [f"archive/{day}/2025-11-26/web.jsonl.gz", f"archive/{day}/phone-1.csv"]
    assert day == time.strftime("%Y-%m-%d", time.gmtime())


def test_temporary_names_are_never_taken(inbox: Path) -> None:
    write(inbox / "upload.jsonl.part", JSONL_EVENT + "\n")
    write(inbox / "upload.csv.tmp", "event_id\n")
    write(inbox / ".upload.jsonl", JSONL_EVENT + "\n")
    write(inbox / ".staging" / "a.jsonl", JSONL_EVENT + "\n")
    write(inbox / "readme.txt", "not events")

    assert watch_once(inbox) == 0

    assert not Settings.from_env().warehouse_path.exists() or landed(inbox) == []
    assert files_under(inbox) == [".staging/a.jsonl", ".upload.jsonl", "readme.txt", "upload.csv.tmp",
                                  "upload.jsonl.part"]


def test_a_file_changed_within_the_settle_interval_waits_for_the_next_run(inbox: Path) -> None:
    growing = write(inbox / "growing.jsonl", JSONL_EVENT + "\n", age_seconds=0)

    assert watch_once(inbox, "--settle", "60") == 0
    assert files_under(inbox) == ["growing.jsonl"]

    past = time.time() - 120
    os.utime(growing, (past, past))
    assert watch_once(inbox, "--settle", "60") == 0
    assert landed(inbox) == [("growing.jsonl", 1)]


def test_a_file_that_changes_between_passes_waits_even_if_its_mtime_is_old(inbox: Path, settings: Settings) -> None:
    """Copy tools that preserve mtimes set an old mtime on a file still being written."""
    config = WatchConfig.for_folder(inbox, settle_seconds=30)
    watcher = FolderWatcher(config, settings)
    source = write(inbox / "copy.jsonl", JSONL_EVENT + "\n")
    assert watcher.ready_files() == ([source], [])

    write(source, JSONL_EVENT + "\n" + JSONL_EVENT + "\n")  # grew, same old mtime as before

    assert watcher.ready_files() == ([], [source])


def test_a_corrupt_gzip_goes_to_failed_with_an_error_file_and_the_rest_loads(inbox: Path) -> None:
    (inbox / "cut.jsonl.gz").write_bytes(gzip.compress((JSONL_EVENT + "\n").encode() * 1000)[:300])
    (inbox / "fake.csv.gz").write_bytes(b"event_id,student_id,event_type,timestamp\n")
    write(inbox / "bad-header.csv", "id,student,type,ts\n")
    for name in ("cut.jsonl.gz", "fake.csv.gz"):
        os.utime(inbox / name, (time.time() - 120,) * 2)
    write(inbox / "good.jsonl", JSONL_EVENT + "\n")

    assert watch_once(inbox) == 1

    assert landed(inbox) == [("good.jsonl", 1)]
    day = today(inbox)
    assert files_under(inbox) == [
        f"archive/{day}/good.jsonl", "failed/bad-header.csv", "failed/bad-header.csv.error.txt",
        "failed/cut.jsonl.gz", "failed/cut.jsonl.gz.error.txt", "failed/fake.csv.gz", "failed/fake.csv.gz.error.txt",
    ]
    assert "incomplete or corrupt gzip file" in (inbox / "failed" / "cut.jsonl.gz.error.txt").read_text()
    assert "not a gzip file" in (inbox / "failed" / "fake.csv.gz.error.txt").read_text()
    assert "no CSV header row" in (inbox / "failed" / "bad-header.csv.error.txt").read_text()


def test_a_second_pass_loads_nothing_twice(inbox: Path) -> None:
    write(inbox / "a.jsonl", JSONL_EVENT + "\n")
    assert watch_once(inbox) == 0

    assert watch_once(inbox) == 0
    write(inbox / "a.jsonl", JSONL_EVENT + "\n")  # the same content dropped again
    assert watch_once(inbox) == 0

    assert landed(inbox) == [("a.jsonl", 1)]
    day = today(inbox)
    assert files_under(inbox) == [f"archive/{day}/a.2.jsonl", f"archive/{day}/a.jsonl"]


def test_a_failed_load_leaves_the_files_for_the_next_pass(inbox: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(inbox / "a.jsonl", JSONL_EVENT + "\n")

    def locked(*_args: object, **_kwargs: object) -> None:
        raise InputError("the load failed and nothing from this run was loaded: database is locked")

    with monkeypatch.context() as patched:
        patched.setattr("ingest.load.loader.load_files", locked)
        assert watch_once(inbox) == 1
    assert files_under(inbox) == ["a.jsonl"]

    assert watch_once(inbox) == 0
    assert landed(inbox) == [("a.jsonl", 1)]


def test_the_watcher_stops_between_passes_when_asked(inbox: Path, settings: Settings) -> None:
    stop = threading.Event()
    config = WatchConfig.for_folder(inbox, interval_seconds=0.05, settle_seconds=0)
    runner = threading.Thread(target=watch, args=(config, settings, stop))
    runner.start()
    write(inbox / "a.jsonl", JSONL_EVENT + "\n")
    deadline = time.monotonic() + 60
    while (inbox / "a.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    runner.join(timeout=30)

    assert not runner.is_alive()
    assert files_under(inbox) == [f"archive/{today(inbox)}/a.jsonl"]


def test_sigterm_ends_the_watcher_cleanly(inbox: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "ingest", "watch", str(inbox), "--interval", "0.2"],
                               cwd=PROJECT_DIR, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    assert "watch: watching" in process.stderr.readline()
    process.send_signal(signal.SIGTERM)

    _, rest = process.communicate(timeout=30)

    assert process.returncode == 0
    assert "SIGTERM: stopping after the current batch" in rest and rest.rstrip().endswith("watch: stopped")


# --------------------------------------------------------------------------- end to end


def test_a_csv_record_ends_in_silver_after_dbt_build(tmp_path: Path) -> None:
    settings = Settings(warehouse_path=tmp_path / "w.sqlite")
    source = write(tmp_path / "mobile.csv", (
        "event_id,student_id,event_type,timestamp,course_id,chapter_id,metadata,context\n"
        'csv-1,s-1,page_view,2025-11-15T08:00:00Z,alg1,ch3,"{""scroll_depth"": 0.5}","{""platform"": ""ios""}"\n'
        'csv-2,s-1,page_view,2025-11-15T08:01:00Z,alg1,ch3,"{""scroll_depth"": ""deep""}",\n'
        'csv-3,s-1,"page_view,2025-11-15T08:02:00Z,alg1,ch3,,\n'))
    load_files([str(source)], settings, show_progress=False)

    # The silver tables this test reads and the data tests on the way; no marts, no unit tests.
    done = run_dbt(["build", "--quiet", "--select", "+events_cleaned", "+events_rejected", "--indirect-selection",
                    "cautious", "--exclude", "test_type:unit", "--target-path", str(tmp_path / "target"),
                    "--log-path", str(tmp_path / "logs")], settings, capture=True)

    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
    assert rows(settings, "select event_id, event_type, course_id, scroll_depth, platform, line_number "
                          "from silver.events_cleaned") == [("csv-1", "page_view", "alg1", 0.5, "ios", 2)]
    assert rows(settings, "select line_number, reason from silver.events_rejected order by 1") == [
        (3, "bad_metadata"), (4, "malformed_json"),
    ]
