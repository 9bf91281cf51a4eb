"""Compare the dbt build with an independent Python reading of the spec, row by row.

One session fixture generates a small sample, adds hand-written edge cases, loads it
(twice: a second load tests "loaded first wins" for duplicates), runs `dbt build` into
a temporary warehouse and runs `reference_model` on the same `raw.events` rows.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_model as ref  # noqa: E402
from corpus_files import write_lines  # noqa: E402
from row_diff import Row, Tolerance, assert_same_rows, row_differences  # noqa: E402

from ingest.load.loader import load_files  # noqa: E402
from ingest.sample.generate import GenerateConfig, generate  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.warehouse.lake import connect

PROJECT = Path(__file__).resolve().parents[2]
DBT = PROJECT / ".venv" / "bin" / "dbt"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
FLOAT_TOLERANCE = 1e-6
MAX_DIFF_ROWS = 10


# --------------------------------------------------------------------------- edge cases

DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"


def _event(event_id: Any, student_id: Any, event_type: Any, timestamp: Any, **extra: Any) -> dict[str, Any]:
    event = {"event_id": event_id, "student_id": student_id, "event_type": event_type, "timestamp": timestamp,
             "course_id": "alg1", "chapter_id": "alg1-ch1", "context": {"user_agent": DESKTOP_UA}}
    event.update(extra)
    return event


def _line(event: dict[str, Any] | str) -> str:
    return event if isinstance(event, str) else orjson.dumps(event).decode()


def edge_lines(day: date) -> tuple[list[str], list[str], list[str]]:
    """Lines of edge_a.jsonl and edge_b.jsonl (first load) and aaa_late.jsonl (second load)."""
    d, d1 = day.isoformat(), (day + timedelta(days=1)).isoformat()
    now = datetime.now(UTC)
    video = {"video_id": "v1", "video_duration_seconds": 300.0, "position_seconds": 10}
    a: list[dict[str, Any] | str] = [
        # Sessionization: gap of exactly 30 min continues, 30 min + 1 ms starts a new session.
        _event("edge-gap-1", "edge-gap", "page_view", f"{d}T10:00:00Z", metadata={"scroll_depth": 80}),
        _event("edge-gap-2", "edge-gap", "login", f"{d}T10:30:00Z"),
        _event("edge-gap-3", "edge-gap", "page_view", f"{d}T11:00:00.001Z"),
        # Equal timestamps start a session: ordered by event_id, so edge-eq-a (tablet) is first.
        _event("edge-eq-b", "edge-gap", "page_view", f"{d}T12:00:00Z"),
        _event("edge-eq-a", "edge-gap", "page_view", f"{d}T12:00:00Z",
               context={"user_agent": DESKTOP_UA, "device_type": "tablet"}),
        # A session across midnight belongs to its first day; the next day has 0 sessions.
        _event("edge-mid-1", "edge-midnight", "page_view", f"{d}T23:50:00Z", context={"user_agent": PHONE_UA}),
        _event("edge-mid-2", "edge-midnight", "quiz_attempt", f"{d1}T00:10:00Z", question_id="q1",
               metadata={"quiz_id": "quiz1", "is_correct": True, "attempt_number": 2.0}),
        # Offsets and naive timestamps.
        _event("edge-tz-1", "edge-tz", "page_view", f"{d}T14:00:00+02:00"),
        _event("edge-tz-2", "edge-tz", "Page View", f"{d}T12:20:00"),
        _event("edge-tz-3", "edge-tz", " page-view ", f"{d} 12:45"),
        _event("edge-tz-4", "edge-tz", "PageView", f"{d1}T01:00:00+0200"),
        _event("edge-tz-5", "edge-tz", "login", f"{d}T23:20:00.5-01:00"),
        # Duplicates: same event_id in edge_a and edge_b (edge_a is first by name).
        _event("edge-dup-1", "edge-dup", "video_play", f"{d}T09:00:00Z", metadata={**video, "watched_seconds": 10}),
        # An invalid record is never the kept copy: edge_b's valid copy wins.
        _event("edge-dup-2", "edge-dup", "video_progress", f"{d}T09:01:00Z", metadata={**video, "watched_seconds": -1}),
        # Loaded first wins over an earlier file name (aaa_late.jsonl, second load).
        _event("edge-dup-3", "edge-dup", "video_complete", f"{d}T09:02:00Z",
               metadata={**video, "watched_seconds": 7.5}),
        # Rejection reasons, in order.
        "[1, 2, 3]",
        "42",
        "",
        '{"event_id": "edge-rej-trunc", "student_id": "x"',
        _event("   ", "edge-rej", "page_view", f"{d}T10:00:00Z"),
        _event("e" * 65, "edge-rej", "page_view", f"{d}T10:00:00Z"),
        _event(123, "edge-rej", "page_view", f"{d}T10:00:00Z"),
        _event("edge-rej-student", 42, "page_view", f"{d}T10:00:00Z"),
        _event("edge-rej-student-blank", "  ", "page_view", f"{d}T10:00:00Z"),
        _event("edge-rej-type-blank", "edge-rej", "  ", f"{d}T10:00:00Z"),
        _event("edge-rej-type-number", "edge-rej", 7, f"{d}T10:00:00Z"),
        _event("edge-rej-type-unknown", "edge-rej", "page_scroll", None),
        _event("edge-rej-ts-missing", "edge-rej", "login", None),
        _event("edge-rej-ts-number", "edge-rej", "login", 1700000000),
        _event("edge-rej-ts-date", "edge-rej", "login", "2025-02-30T10:00:00Z"),
        _event("edge-rej-ts-old", "edge-rej", "login", "1999-12-31T23:59:59Z"),
        _event("edge-rej-ts-old-offset", "edge-rej", "login", "2000-01-01T01:00:00+02:00"),
        _event("edge-rej-ts-future", "edge-rej", "login", (now + timedelta(hours=24, minutes=10)).isoformat()),
        _event("edge-future-ok", "edge-future", "login", (now + timedelta(hours=23)).isoformat()),
        _event("edge-rej-question", "edge-rej", "quiz_attempt", f"{d}T10:00:00Z", question_id="  ",
               metadata={"quiz_id": "quiz1"}),
        _event("edge-rej-question-order", "edge-rej", "quiz_attempt", f"{d}T10:00:00Z", question_id=None),
        _event("edge-rej-quiz-blank", "edge-rej", "quiz_attempt", f"{d}T10:00:00Z", question_id="q1",
               metadata={"quiz_id": " ", "is_correct": "yes"}),
        _event("edge-rej-quiz-number", "edge-rej", "quiz_attempt", f"{d}T10:00:00Z", question_id="q1",
               metadata={"quiz_id": 5}),
        _event("edge-rej-attempt", "edge-rej", "quiz_attempt", f"{d}T10:00:00Z", question_id="q1",
               metadata={"quiz_id": "quiz1", "attempt_number": 1.5}),
        _event("edge-rej-meta-string", "edge-rej", "page_view", f"{d}T10:00:00Z", metadata="deep"),
        _event("edge-rej-scroll-150", "edge-rej", "page_view", f"{d}T10:00:00Z", metadata={"scroll_depth": 150}),
        _event("edge-rej-scroll-bool", "edge-rej", "page_view", f"{d}T10:00:00Z", metadata={"scroll_depth": True}),
        _event("edge-rej-video-duration", "edge-rej", "video_pause", f"{d}T10:00:00Z",
               metadata={"video_duration_seconds": 0}),
        _event("edge-rej-on-time", "edge-rej", "submit_assignment", f"{d}T10:00:00Z", metadata={"on_time": "yes"}),
        # Valid despite odd values.
        _event("edge-ok-question-number", "edge-ok", "quiz_attempt", f"{d}T15:00:00Z", question_id=7,
               metadata={"quiz_id": "quiz1", "is_correct": False, "time_spent_seconds": None}),
        _event("edge-ok-scroll-100", "edge-ok", "page_view", f"{d}T15:01:00Z", metadata={"scroll_depth": 100}),
        _event("edge-ok-scroll-null", "edge-ok", "page_view", f"{d}T15:02:00Z", metadata={"scroll_depth": None}),
        _event("edge-ok-login-meta", "edge-ok", "login", f"{d}T15:03:00Z", metadata={"scroll_depth": "x"}),
        _event("edge-ok-meta-null", "edge-ok", "submit_assignment", f"{d}T15:04:00Z", metadata=None),
        _event("edge-ok-unknown-key", "edge-ok", "logout", f"{d}T15:05:00Z", metadata={"anything": [1]}),
        _event("edge-ok-old", "edge-ok", "login", "2000-01-01T00:00:00Z"),
    ]
    b: list[dict[str, Any] | str] = [
        _event("edge-dup-1", "edge-dup", "video_play", f"{d}T09:05:00Z", metadata={**video, "watched_seconds": 99}),
        _event("edge-dup-2", "edge-dup", "video_progress", f"{d}T09:01:00Z", metadata={**video, "watched_seconds": 20}),
        _event("edge-dup-b-only", "edge-dup", "video_pause", f"{d}T09:03:00Z",
               metadata={**video, "watched_seconds": 0}),
    ]
    late: list[dict[str, Any] | str] = [
        _event("edge-dup-3", "edge-dup", "video_complete", f"{d}T09:02:30Z", metadata={**video, "watched_seconds": 50}),
        _event("edge-late-new", "edge-dup", "logout", f"{d}T09:04:00Z"),
    ]
    return [_line(x) for x in a], [_line(x) for x in b], [_line(x) for x in late]


PROBE_FILE = "probe_non_json.jsonl"
PROBE_STUDENT = "probe-student"


def probe_lines(day: date) -> list[str]:
    """Lines that are not JSON (RFC 8259) although lenient parsers read them: events.md says malformed_json.

    They belong to their own student, left out of the other comparisons (see test_non_json_numbers).
    """
    head = f'"student_id": "{PROBE_STUDENT}", "timestamp": "{day.isoformat()}T08:00:00Z"'
    return [
        f'{{"event_id": "probe-nan-login", "event_type": "login", {head}, "metadata": {{"note": NaN}}}}',
        f'{{"event_id": "probe-inf-duration", "event_type": "page_view", {head}, '
        f'"metadata": {{"duration_seconds": Infinity}}}}',
        f'{{"event_id": "probe-nan-scroll", "event_type": "page_view", {head}, "metadata": {{"scroll_depth": NaN}}}}',
    ]


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class Built:
    warehouse: Path
    records: list[ref.RawRecord]
    reference: ref.ReferenceResult


def _run_dbt(base: Path, warehouse: Path) -> None:
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_PROFILES_DIR": str(PROJECT / "profiles")}
    env.pop("STUDENT_HASH_SALT", None)
    command = [str(DBT), "build", "--fail-fast", "--target-path", str(base / "target"),
               "--log-path", str(base / "logs")]
    done = subprocess.run(command, cwd=PROJECT, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"dbt build failed ({done.returncode}):\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}")


def _read_raw(warehouse: Path) -> list[ref.RawRecord]:
    with connect(Settings(warehouse_path=warehouse), read_only=True) as con:
        rows = con.sql("select raw_line, source_file, line_number, epoch_us(loaded_at) from raw.events").fetchall()
    return [ref.RawRecord(raw_line=line, source_file=source, line_number=number,
                          loaded_at=EPOCH + timedelta(microseconds=loaded_us))
            for line, source, number, loaded_us in rows]


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    base = tmp_path_factory.mktemp("reference_model")
    start = datetime.now(UTC).date() - timedelta(days=6)
    raw = base / "raw"
    generate(GenerateConfig(students=60, days=4, start=start, seed=3, out=raw), progress=False)
    edge_a, edge_b, late = edge_lines(start)
    write_lines(raw / "edge" / "edge_a.jsonl", edge_a)
    write_lines(raw / "edge" / "edge_b.jsonl", edge_b)
    write_lines(raw / "edge" / PROBE_FILE, probe_lines(start))
    write_lines(base / "late" / "aaa_late.jsonl", late)
    warehouse = base / "w.sqlite"
    settings = Settings(warehouse_path=warehouse)
    load_files([str(raw)], settings, show_progress=False)
    load_files([str(base / "late")], settings, show_progress=False)
    _run_dbt(base, warehouse)
    records = _read_raw(warehouse)
    return Built(warehouse=warehouse, records=records, reference=ref.run(records))


def _query(built: Built, sql: str) -> list[Row]:
    with connect(Settings(warehouse_path=built.warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


def _columns(built: Built, schema: str, table: str) -> set[str]:
    rows = _query(built, "select column_name from information_schema.columns "
                         f"where table_schema = '{schema}' and table_name = '{table}'")
    return {name for (name,) in rows}


# --------------------------------------------------------------------------- comparison


def _iso(value: datetime | int) -> str:
    if isinstance(value, int):
        value = EPOCH + timedelta(microseconds=value)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


TOLERANCE = Tolerance(absolute=FLOAT_TOLERANCE)


def _diff(name: str, columns: tuple[str, ...], key_len: int, dbt_rows: list[Row], ref_rows: list[Row],
          describe: Callable[[Hashable], str] | None = None) -> list[str]:
    return row_differences(columns, key_len, dbt_rows, ref_rows, TOLERANCE, describe)


def _assert_same(name: str, columns: tuple[str, ...], key_len: int, dbt_rows: list[Row], ref_rows: list[Row],
                 describe: Callable[[Hashable], str] | None = None) -> None:
    assert_same_rows(name, columns, key_len, dbt_rows, ref_rows, TOLERANCE, describe, MAX_DIFF_ROWS)


# --------------------------------------------------------------------------- tests

PROBE_HASH = ref.student_hash(PROBE_STUDENT)
NOT_PROBE = f"student_hash <> '{PROBE_HASH}'"


def _is_probe(key: Hashable) -> bool:
    return isinstance(key, tuple) and Path(str(key[0])).name == PROBE_FILE


def _fates(built: Built) -> tuple[list[Row], list[Row]]:
    """(source_file, line_number, fate) of every raw record, in dbt and in the reference."""
    fates: dict[tuple[str, int], list[str]] = {}
    for source, number, reason in _query(built, "select source_file, line_number, reason from silver.events_rejected"):
        fates.setdefault((source, number), []).append(reason)
    for source, number in _query(built, "select source_file, line_number from silver.events_duplicates"):
        fates.setdefault((source, number), []).append(ref.DUPLICATE)
    if {"source_file", "line_number"} <= _columns(built, "silver", "events_cleaned"):
        for source, number in _query(built, "select source_file, line_number from silver.events_cleaned"):
            fates.setdefault((source, number), []).append(ref.KEPT)
    else:  # raw = cleaned + rejected + duplicates: whatever is neither rejected nor a duplicate is kept
        kept_count = _query(built, "select count(*) from silver.events_cleaned")[0][0]
        for record in built.records:
            fates.setdefault(record.key, [ref.KEPT])
        assert kept_count == sum(f == [ref.KEPT] for f in fates.values()), "events_cleaned count"
    dbt_rows = [(key[0], key[1], "+".join(sorted(v))) for key, v in fates.items()]
    ref_rows = [(key[0], key[1], fate) for key, fate in built.reference.classification.items()]
    return dbt_rows, ref_rows


def _describe_record(built: Built) -> Callable[[Hashable], str]:
    lines = {r.key: r.raw_line for r in built.records}

    def describe(key: Hashable) -> str:
        assert isinstance(key, tuple)
        return f"{Path(key[0]).parent.name}/{Path(key[0]).name}:{key[1]} {lines.get(key, '?')[:160]!r}"
    return describe


CLASSIFICATION_COLUMNS = ("source_file", "line_number", "fate")


def test_raw_records_are_the_same_set(built: Built) -> None:
    """Sanity: the reference saw every raw record exactly once."""
    assert len(built.reference.classification) == len(built.records)
    assert len({r.key for r in built.records}) == len(built.records)


def test_classification(built: Built) -> None:
    """Every raw record: kept, duplicate, or rejected with the same reason in both."""
    dbt_rows, ref_rows = _fates(built)
    _assert_same("classification", CLASSIFICATION_COLUMNS, 2, [r for r in dbt_rows if not _is_probe(r)],
                 [r for r in ref_rows if not _is_probe(r)], _describe_record(built))


def test_non_json_numbers(built: Built) -> None:
    """NaN and Infinity are not JSON (RFC 8259), so events.md makes such a line malformed_json."""
    dbt_rows, ref_rows = _fates(built)
    dbt_probe, ref_probe = [r for r in dbt_rows if _is_probe(r)], [r for r in ref_rows if _is_probe(r)]
    assert ref_probe and all(fate == "malformed_json" for *_, fate in ref_probe)
    problems = _diff("non-JSON numbers", CLASSIFICATION_COLUMNS, 2, dbt_probe, ref_probe, _describe_record(built))
    if problems and len(dbt_probe) == len(ref_probe):
        pytest.xfail("DuckDB's JSON reader accepts NaN/Infinity, so these lines are validated as events instead "
                     "of malformed_json: " + " | ".join(problems))
    _assert_same("non-JSON numbers", CLASSIFICATION_COLUMNS, 2, dbt_probe, ref_probe, _describe_record(built))


def test_events_cleaned(built: Built) -> None:
    dbt_rows = [(event_id, h, t, _iso(ts), d, s) for event_id, h, t, ts, d, s in _query(
        built, "select event_id, student_hash, event_type, epoch_us(ts), date, session_id "
               f"from silver.events_cleaned where {NOT_PROBE}")]
    ref_rows = [(e.event_id, e.student_hash, e.event_type, _iso(e.ts), e.date, e.session_id)
                for e in built.reference.cleaned if e.student_hash != PROBE_HASH]
    _assert_same("events_cleaned", ("event_id", "student_hash", "event_type", "ts", "date", "session_id"),
                 1, dbt_rows, ref_rows)


SESSION_COLUMNS = ("session_id", "student_hash", "session_start", "session_end", "session_duration_seconds",
                   "events_count", "date")
SESSION_DEVICE_COLUMNS = ("session_id", "device_type", "is_mobile")


def _ref_sessions(built: Built) -> list[ref.Session]:
    return [s for s in built.reference.sessions if s.student_hash != PROBE_HASH]


def test_sessions(built: Built) -> None:
    """Every sessions column but the device ones (see test_session_device_type)."""
    dbt_rows = [(sid, h, _iso(start), _iso(end), dur, n, d) for sid, h, start, end, dur, n, d in
                _query(built, "select session_id, student_hash, epoch_us(session_start), epoch_us(session_end), "
                              f"session_duration_seconds, events_count, date from silver.sessions where {NOT_PROBE}")]
    ref_rows = [(s.session_id, s.student_hash, _iso(s.session_start), _iso(s.session_end),
                 s.session_duration_seconds, s.events_count, s.date) for s in _ref_sessions(built)]
    _assert_same("sessions", SESSION_COLUMNS, 1, dbt_rows, ref_rows)


def _first_events(built: Built) -> dict[str, ref.CleanedEvent]:
    first: dict[str, ref.CleanedEvent] = {}
    for event in sorted(built.reference.cleaned, key=lambda e: (e.ts, e.event_id)):
        if event.student_hash != PROBE_HASH:
            first.setdefault(event.session_id, event)
    return first


def test_session_device_type(built: Built) -> None:
    """device_type (of the session's first event) and is_mobile.

    metrics.md: device_type is "taken from context.device_type when the client sent a valid
    one, else parsed from the user agent". The project does not parse user agents yet
    (int_events__enriched: "otherwise `unknown` until user-agent parsing arrives"); only that
    known gap is tolerated, as an xfail. Sessions whose first event carries a valid hint must match.
    """
    dbt_rows = [tuple(row) for row in _query(
        built, f"select {', '.join(SESSION_DEVICE_COLUMNS)} from silver.sessions where {NOT_PROBE}")]
    ref_rows = [(s.session_id, s.device_type, s.is_mobile) for s in _ref_sessions(built)]
    problems = _diff("sessions device", SESSION_DEVICE_COLUMNS, 1, dbt_rows, ref_rows)
    if not problems:
        return
    first = _first_events(built)
    dbt_device = {row[0]: row[1] for row in dbt_rows}
    from_user_agent = [sid for sid in first if first[sid].device_hint is None]
    unparsed = [sid for sid in from_user_agent
                if dbt_device.get(sid) == "unknown" and first[sid].device_type != "unknown"]
    hinted_ok = all(dbt_device.get(sid) == first[sid].device_hint for sid in first if first[sid].device_hint)
    if hinted_ok and len(problems) == len(unparsed):
        pytest.xfail(f"dbt does not parse the user agent (metrics.md: 'else parsed from the user agent'): "
                     f"{len(unparsed)} of {len(first)} sessions get device_type 'unknown' instead of the "
                     f"device of their first event's user agent; all {len(first) - len(from_user_agent)} "
                     f"sessions with a client hint match")
    _assert_same("sessions device", SESSION_DEVICE_COLUMNS, 1, dbt_rows, ref_rows)


DAILY_COLUMNS = ("date", "student_hash", "total_sessions", "total_time_spent_seconds", "pages_viewed",
                 "quizzes_attempted", "assignments_submitted")


def _daily_query(built: Built, columns: tuple[str, ...]) -> list[Row]:
    return [tuple(row) for row in _query(
        built, f"select {', '.join(columns)} from gold.student_daily_activity where {NOT_PROBE}")]


def _ref_daily(built: Built) -> list[ref.DailyActivity]:
    return [a for a in built.reference.daily_activity if a.student_hash != PROBE_HASH]


def test_student_daily_activity(built: Built) -> None:
    """Every column but videos_watched_seconds (see test_videos_watched_seconds)."""
    ref_rows = [(a.date, a.student_hash, a.total_sessions, a.total_time_spent_seconds, a.pages_viewed,
                 a.quizzes_attempted, a.assignments_submitted) for a in _ref_daily(built)]
    _assert_same("student_daily_activity", DAILY_COLUMNS, 2, _daily_query(built, DAILY_COLUMNS), ref_rows)


def _is_float32_of(got: float, want: float) -> bool:
    """got is want rounded to single precision (float32 has a 24-bit significand)."""
    return abs(got - want) <= abs(want) * 2.0**-23


def test_videos_watched_seconds(built: Built) -> None:
    """videos_watched_seconds to 1e-6. metrics.md: "Durations are seconds (double)"."""
    columns = ("date", "student_hash", "videos_watched_seconds")
    dbt_rows = _daily_query(built, columns)
    ref_rows = [(a.date, a.student_hash, a.videos_watched_seconds) for a in _ref_daily(built)]
    problems = _diff("student_daily_activity.videos_watched_seconds", columns, 2, dbt_rows, ref_rows)
    if not problems:
        return
    want = {row[:2]: row[2] for row in ref_rows}
    single = all((d, h) in want and _is_float32_of(got, want[(d, h)]) for d, h, got in dbt_rows)
    data_type = _query(built, "select data_type from information_schema.columns where table_schema = 'gold' "
                              "and table_name = 'student_daily_activity' and column_name = 'videos_watched_seconds'")
    if single and len(dbt_rows) == len(ref_rows):
        pytest.xfail(f"gold.student_daily_activity.videos_watched_seconds is {data_type[0][0]} (cast to "
                     f"dbt.type_float(), single precision in DuckDB), not double as metrics.md requires: "
                     f"{len(problems)} rows lose precision, e.g. {problems[0]}")
    _assert_same("student_daily_activity.videos_watched_seconds", columns, 2, dbt_rows, ref_rows)


# --------------------------------------------------------------------------- the reference on its own


def test_reference_edge_cases(built: Built) -> None:
    """The reference itself gets the hand-written cases right (guards against a shared mistake)."""
    fate_of: dict[str, list[str]] = {}
    for record in built.records:
        try:
            event_id = orjson.loads(record.raw_line).get("event_id")
        except (orjson.JSONDecodeError, AttributeError):
            continue
        if isinstance(event_id, str) and event_id.startswith("edge-"):
            fate_of.setdefault(event_id, []).append(built.reference.classification[record.key])
    expected_rejections = {
        "edge-rej-student": "missing_student_id", "edge-rej-student-blank": "missing_student_id",
        "edge-rej-type-blank": "missing_event_type", "edge-rej-type-number": "unknown_event_type",
        "edge-rej-type-unknown": "unknown_event_type", "edge-rej-ts-missing": "missing_timestamp",
        "edge-rej-ts-number": "bad_timestamp", "edge-rej-ts-date": "bad_timestamp",
        "edge-rej-ts-old": "timestamp_out_of_range", "edge-rej-ts-old-offset": "timestamp_out_of_range",
        "edge-rej-ts-future": "timestamp_out_of_range", "edge-rej-question": "missing_question_id",
        "edge-rej-question-order": "missing_question_id", "edge-rej-quiz-blank": "missing_quiz_id",
        "edge-rej-quiz-number": "bad_metadata", "edge-rej-attempt": "bad_metadata",
        "edge-rej-meta-string": "bad_metadata", "edge-rej-scroll-150": "bad_metadata",
        "edge-rej-scroll-bool": "bad_metadata", "edge-rej-video-duration": "bad_metadata",
        "edge-rej-on-time": "bad_metadata",
    }
    for event_id, reason in expected_rejections.items():
        assert fate_of[event_id] == [reason], event_id
    assert sorted(fate_of["edge-dup-1"]) == [ref.DUPLICATE, ref.KEPT]
    assert sorted(fate_of["edge-dup-2"]) == ["bad_metadata", ref.KEPT]
    assert sorted(fate_of["edge-dup-3"]) == [ref.DUPLICATE, ref.KEPT]
    for event_id in ("edge-ok-question-number", "edge-ok-scroll-100", "edge-ok-scroll-null", "edge-ok-login-meta",
                     "edge-ok-meta-null", "edge-ok-unknown-key", "edge-ok-old", "edge-future-ok",
                     "edge-gap-1", "edge-tz-2", "edge-tz-3", "edge-tz-4"):
        assert fate_of[event_id] == [ref.KEPT], event_id

    events = {e.raw_event_id: e for e in built.reference.cleaned}
    assert events["edge-dup-1"].ts.minute == 0  # edge_a's copy, not edge_b's
    assert events["edge-dup-3"].ts.second == 0  # first load's copy, not aaa_late's
    assert events["edge-gap-1"].session_id == events["edge-gap-2"].session_id  # exactly 30 min
    assert events["edge-gap-2"].session_id != events["edge-gap-3"].session_id  # 30 min + 1 ms
    assert events["edge-eq-a"].session_id == events["edge-eq-b"].session_id
    assert events["edge-mid-1"].session_id == events["edge-mid-2"].session_id
    assert events["edge-tz-1"].ts == datetime.fromisoformat(f"{events['edge-tz-1'].date}T12:00:00+00:00")
    assert events["edge-tz-1"].session_id == events["edge-tz-2"].session_id == events["edge-tz-3"].session_id
    assert events["edge-tz-4"].date == events["edge-tz-1"].date
    assert events["edge-tz-5"].date == events["edge-tz-1"].date + timedelta(days=1)
    sessions = {s.session_id: s for s in built.reference.sessions}
    eq = sessions[events["edge-eq-a"].session_id]
    assert (eq.device_type, eq.is_mobile, eq.events_count) == ("tablet", True, 2)
    midnight = sessions[events["edge-mid-1"].session_id]
    assert (midnight.date, midnight.session_duration_seconds) == (events["edge-mid-1"].date, 1200.0)
    day_after = [a for a in built.reference.daily_activity
                 if a.student_hash == midnight.student_hash and a.date == events["edge-mid-2"].date]
    assert [(a.total_sessions, a.total_time_spent_seconds, a.quizzes_attempted) for a in day_after] == [(0, 0.0, 1)]
    assert ref.session_id("h", datetime(2025, 11, 15, 8, tzinfo=UTC)) == \
        ref.hashlib.md5(b"h:2025-11-15T08:00:00.000000").hexdigest()
