"""Compare the dbt marts with an independent Python reading of the spec, row by row.

Relations: gold.chapter_engagement, gold.question_attempts_summary and
feature_store.student_features, against `reference_marts` run on the same `raw.events`.

Two warehouses, built once per test session (their `dbt build`s run side by side):
  * `sample`: a generated sample over 4 days, test_reference_model's edge files, and the
    hand-written mart cases below (all within the last 6 days);
  * `windows`: a few students over ~35 days whose activity falls exactly on the 7/14/30-day
    window boundaries of the feature store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Hashable
from dataclasses import astuple, dataclass, fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_marts as marts  # noqa: E402
import reference_model as ref  # noqa: E402
from corpus_files import write_lines  # noqa: E402
from row_diff import Row, Tolerance, assert_same_rows, row_differences  # noqa: E402
from test_reference_model import edge_lines  # noqa: E402

from ingest.load.loader import load_files  # noqa: E402
from ingest.sample.generate import GenerateConfig, generate  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from ingest.warehouse.lake import connect

PROJECT = Path(__file__).resolve().parents[2]
DBT = PROJECT / ".venv" / "bin" / "dbt"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REL_TOLERANCE = ABS_TOLERANCE = 1e-9
MAX_DIFF_ROWS = 12
DESKTOP_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"


# --------------------------------------------------------------------------- hand-written events


def _event(event_id: str, student_id: str, event_type: str, ts: datetime, course_id: str | None = None,
           chapter_id: str | None = None, question_id: str | None = None, **metadata: Any) -> str:
    event: dict[str, Any] = {"event_id": event_id, "student_id": student_id, "event_type": event_type,
                             "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                             "context": {"user_agent": DESKTOP_UA, "platform": "web"}}
    if course_id is not None:
        event["course_id"] = course_id
    if chapter_id is not None:
        event["chapter_id"] = chapter_id
    if question_id is not None:
        event["question_id"] = question_id
    if metadata:
        event["metadata"] = metadata
    return orjson.dumps(event).decode()


def _at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=UTC)


EDGE_COURSE = "edge-course"


def mart_edge_lines(today: date) -> list[str]:
    """The mart cases, dated today - 6 .. today - 1; each student is named for its case."""
    d6, d5, d4, d3, d2 = (today - timedelta(days=n) for n in (6, 5, 4, 3, 2))
    c = EDGE_COURSE
    return [
        # Quiet after the first day: feature rows run on to the latest date.
        _event("mart-quiet-1", "mart-quiet", "login", _at(d6, 7)),
        _event("mart-quiet-2", "mart-quiet", "page_view", _at(d6, 7, 2), "alg1", "alg1-ch1", scroll_depth=0.5),
        # A chapter visit across midnight: one visit, on its first day; the next day's row has 0 visits.
        # Dwell 900 s (to 00:05) on d5, 300 s (to the quiz at 00:10) on d4; the session ends in edge-mid-ch2.
        _event("mart-mid-1", "mart-midnight", "page_view", _at(d5, 23, 50), c, "edge-mid-ch"),
        _event("mart-mid-2", "mart-midnight", "page_view", _at(d4, 0, 5), c, "edge-mid-ch", scroll_depth=40),
        _event("mart-mid-3", "mart-midnight", "quiz_attempt", _at(d4, 0, 10), c, "edge-mid-ch2",
               "edge-mid-q1", quiz_id="edge-mid-quiz", is_correct=True, time_spent_seconds=12.5),
        # Page views without scroll_depth (absent and null): avg_scroll_depth NULL.
        _event("mart-noscroll-1", "mart-noscroll", "page_view", _at(d5, 9), c, "edge-noscroll-ch"),
        _event("mart-noscroll-2", "mart-noscroll", "page_view", _at(d5, 9, 1), c, "edge-noscroll-ch",
               scroll_depth=None, duration_seconds=30),
        # Scroll depths as fractions and percentages: 0.2, 50 -> 0.5, 1 -> 1.0, 100 -> 1.0; a video doesn't count.
        _event("mart-scroll-1", "mart-scroll", "page_view", _at(d5, 10), c, "edge-scroll-ch", scroll_depth=0.2),
        _event("mart-scroll-2", "mart-scroll", "page_view", _at(d5, 10, 1), c, "edge-scroll-ch", scroll_depth=50),
        _event("mart-scroll-3", "mart-scroll", "page_view", _at(d5, 10, 2), c, "edge-scroll-ch", scroll_depth=1),
        _event("mart-scroll-4", "mart-scroll", "video_play", _at(d5, 10, 3), c, "edge-scroll-ch",
               video_id="v", video_duration_seconds=60, watched_seconds=0),
        _event("mart-scroll-5", "mart-scroll", "page_view", _at(d5, 10, 4), c, "edge-scroll-ch", scroll_depth=100),
        # Quiz questions: attempts without time_spent_seconds (avg NULL), mixed, and one without is_correct.
        _event("mart-quiz-1", "mart-quiz", "quiz_attempt", _at(d4, 14), c, "edge-quiz-ch", "edge-q-notime",
               quiz_id="edge-quiz", is_correct=True),
        _event("mart-quiz-2", "mart-quiz", "quiz_attempt", _at(d4, 14, 1), c, "edge-quiz-ch", "edge-q-notime",
               quiz_id="edge-quiz", is_correct=False, attempt_number=2),
        _event("mart-quiz-3", "mart-quiz", "quiz_attempt", _at(d4, 14, 2), c, "edge-quiz-ch", "edge-q-mixed",
               quiz_id="edge-quiz", time_spent_seconds=None),
        _event("mart-quiz-4", "mart-quiz", "quiz_attempt", _at(d4, 14, 3), c, "edge-quiz-ch", "edge-q-mixed",
               quiz_id="edge-quiz", is_correct=True, time_spent_seconds=0),
        _event("mart-quiz-5", "mart-quiz", "quiz_attempt", _at(d4, 14, 4), c, "edge-quiz-ch", "edge-q-mixed",
               quiz_id="edge-quiz", is_correct=True, time_spent_seconds=33.25),
        # The same question in another quiz is another row.
        _event("mart-quiz-6", "mart-quiz", "quiz_attempt", _at(d4, 14, 5), c, "edge-quiz-ch", "edge-q-mixed",
               quiz_id="edge-quiz-2", is_correct=False, time_spent_seconds=7),
        # A page_view that ends its session: with duration_seconds (42.5), without (NULL, counts 0),
        # 5000 s capped at 1800, and a gap of exactly 30 min (1800, same session).
        _event("mart-last-1", "mart-last", "login", _at(d4, 9)),
        _event("mart-last-2", "mart-last", "page_view", _at(d4, 9, 1), c, "edge-last-ch", duration_seconds=42.5),
        _event("mart-last-3", "mart-last", "page_view", _at(d4, 12), c, "edge-last-ch"),
        _event("mart-last-4", "mart-last", "page_view", _at(d4, 15), c, "edge-cap-ch", duration_seconds=5000),
        _event("mart-last-5", "mart-last", "page_view", _at(d4, 18), c, "edge-gap-ch", duration_seconds=9999),
        _event("mart-last-6", "mart-last", "page_view", _at(d4, 18, 30), c, "edge-gap-ch", duration_seconds=10),
        # chapter_id without course_id: the catalog's course (alg1-ch4 is alg1's), NULL for an unknown chapter;
        # an event's own course_id wins over the catalog's. (d2: after the generated days, so alone in alg1-ch4.)
        _event("mart-course-1", "mart-course", "page_view", _at(d2, 8), None, "alg1-ch4", duration_seconds=20),
        _event("mart-course-2", "mart-course", "page_view", _at(d2, 9), None, "edge-orphan-ch", duration_seconds=21),
        _event("mart-course-3", "mart-course", "page_view", _at(d2, 10), "bio1", "alg1-ch5", duration_seconds=22),
        # One visit with two courses: it belongs to its first event's course; the other row has 0 visits.
        _event("mart-mixed-1", "mart-mixed", "page_view", _at(d3, 11), c, "edge-mixed-ch"),
        _event("mart-mixed-2", "mart-mixed", "page_view", _at(d3, 11, 5), None, "edge-mixed-ch",
               duration_seconds=7),
        # Exits: chapters A, B, then C and A at the same instant, then an event without a chapter.
        # Equal timestamps order by event_id: mart-exit-3a (C, dwell 0) before mart-exit-3b (A, dwell 120),
        # so the session's last chapter is A: A's visit is an exit, B's and C's are not.
        _event("mart-exit-1", "mart-exit", "page_view", _at(d3, 8), c, "edge-exit-a"),
        _event("mart-exit-2", "mart-exit", "page_view", _at(d3, 8, 5), c, "edge-exit-b"),
        _event("mart-exit-3b", "mart-exit", "page_view", _at(d3, 8, 10), c, "edge-exit-a"),
        _event("mart-exit-3a", "mart-exit", "page_view", _at(d3, 8, 10), c, "edge-exit-c"),
        _event("mart-exit-4", "mart-exit", "logout", _at(d3, 8, 12)),
        # A second session of the same student that visits B only: an exit of B.
        _event("mart-exit-5", "mart-exit", "page_view", _at(d3, 20), c, "edge-exit-b", duration_seconds=60),
    ]


# Window boundaries: the windows dataset ends on LAST = today - 1. win-edges is active on the days
# LAST - k for k in WINDOW_DAYS, one session per day lasting 2**i / 2 seconds (i = position of k), so every
# rolling sum names the exact days it covered; its quiz attempt is correct on even positions.
WINDOW_DAYS = (34, 30, 29, 21, 20, 14, 13, 8, 7, 6, 1, 0)


def window_lines(last: date) -> list[str]:
    lines = []
    for i, k in enumerate(WINDOW_DAYS):
        day = last - timedelta(days=k)
        lines += [_event(f"win-edges-{k}-login", "win-edges", "login", _at(day, 10)),
                  _event(f"win-edges-{k}-quiz", "win-edges", "quiz_attempt", _at(day, 10) + timedelta(seconds=2**i / 2),
                         "alg1", "alg1-ch2", f"alg1-ch2-quiz1-q{i}", quiz_id="alg1-ch2-quiz1",
                         is_correct=i % 2 == 0, time_spent_seconds=float(i))]
    # win-gap: active 30 days before LAST and on LAST; a session across midnight 10 days before LAST gives
    # the next day events but no session (last_login_days_ago counts from session starts).
    for day, tag in ((last - timedelta(days=30), "a"), (last, "b")):
        lines.append(_event(f"win-gap-{tag}", "win-gap", "page_view", _at(day, 6), "bio1", "bio1-ch1",
                            duration_seconds=100))
    night = last - timedelta(days=10)
    lines += [_event("win-gap-night-1", "win-gap", "page_view", _at(night, 23, 55), "bio1", "bio1-ch2"),
              _event("win-gap-night-2", "win-gap", "quiz_attempt", _at(night + timedelta(days=1), 0, 20), "bio1",
                     "bio1-ch2", "bio1-ch2-quiz1-q1", quiz_id="bio1-ch2-quiz1", is_correct=True)]
    # win-late: first seen 3 days before LAST.
    lines.append(_event("win-late-1", "win-late", "login", _at(last - timedelta(days=3), 12)))
    return lines


# --------------------------------------------------------------------------- build


@dataclass(frozen=True)
class Built:
    name: str
    warehouse: Path
    reference: marts.MartsResult


def _read_raw(warehouse: Path) -> list[ref.RawRecord]:
    with connect(Settings(warehouse_path=warehouse), read_only=True) as con:
        rows = con.sql("select raw_line, source_file, line_number, epoch_us(loaded_at) from raw.events").fetchall()
    return [ref.RawRecord(raw_line=line, source_file=source, line_number=number,
                          loaded_at=EPOCH + timedelta(microseconds=loaded_us))
            for line, source, number, loaded_us in rows]


def _start_dbt(base: Path, warehouse: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "WAREHOUSE_PATH": str(warehouse), "DBT_PROFILES_DIR": str(PROJECT / "profiles")}
    env.pop("STUDENT_HASH_SALT", None)
    command = [str(DBT), "build", "--fail-fast", "--target-path", str(base / "target"),
               "--log-path", str(base / "logs")]
    return subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def _load_sample(base: Path, today: date) -> Path:
    raw = base / "raw"
    generate(GenerateConfig(students=40, days=4, start=today - timedelta(days=6), seed=11, out=raw), progress=False)
    edge_a, edge_b, late = edge_lines(today - timedelta(days=5))  # test_reference_model's cases, probes left out
    write_lines(raw / "edge" / "edge_a.jsonl", edge_a)
    write_lines(raw / "edge" / "edge_b.jsonl", edge_b)
    write_lines(raw / "edge" / "mart_edges.jsonl", mart_edge_lines(today))
    write_lines(base / "late" / "aaa_late.jsonl", late)
    warehouse = base / "w.sqlite"
    settings = Settings(warehouse_path=warehouse)
    load_files([str(raw)], settings, show_progress=False)
    load_files([str(base / "late")], settings, show_progress=False)
    return warehouse


def _load_windows(base: Path, today: date) -> Path:
    write_lines(base / "raw" / "windows.jsonl", window_lines(today - timedelta(days=1)))
    warehouse = base / "w.sqlite"
    load_files([str(base / "raw")], Settings(warehouse_path=warehouse), show_progress=False)
    return warehouse


@pytest.fixture(scope="session")
def _builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Both warehouses, their dbt builds run in parallel, and the reference on each one's raw.events."""
    today = datetime.now(UTC).date()
    bases = {name: tmp_path_factory.mktemp(f"reference_marts_{name}") for name in ("sample", "windows")}
    warehouses = {"sample": _load_sample(bases["sample"], today), "windows": _load_windows(bases["windows"], today)}
    running = {name: _start_dbt(bases[name], warehouses[name]) for name in bases}
    failures = []
    for name, process in running.items():
        output, _ = process.communicate(timeout=600)
        if process.returncode != 0:
            failures.append(f"dbt build of {name} failed ({process.returncode}):\n{output[-6000:]}")
    if failures:
        pytest.fail("\n".join(failures))
    return {name: Built(name=name, warehouse=warehouse, reference=marts.run(_read_raw(warehouse)))
            for name, warehouse in warehouses.items()}


@pytest.fixture(scope="session")
def sample(_builds: dict[str, Built]) -> Built:
    return _builds["sample"]


@pytest.fixture(scope="session")
def windows(_builds: dict[str, Built]) -> Built:
    return _builds["windows"]


def _query(built: Built, sql: str) -> list[Row]:
    with connect(Settings(warehouse_path=built.warehouse), read_only=True) as con:
        return con.sql(sql).fetchall()


# --------------------------------------------------------------------------- comparison


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


TOLERANCE = Tolerance(relative=REL_TOLERANCE, absolute=ABS_TOLERANCE)


def _diff(columns: tuple[str, ...], key_len: int, dbt_rows: list[Row], ref_rows: list[Row],
          describe: Callable[[Hashable], str] | None = None) -> list[str]:
    return row_differences(columns, key_len, dbt_rows, ref_rows, TOLERANCE, describe)


def _assert_same(name: str, columns: tuple[str, ...], key_len: int, dbt_rows: list[Row], ref_rows: list[Row],
                 describe: Callable[[Hashable], str] | None = None) -> None:
    assert_same_rows(name, columns, key_len, dbt_rows, ref_rows, TOLERANCE, describe, MAX_DIFF_ROWS)


def _dbt_rows(built: Built, relation: str, columns: tuple[str, ...]) -> list[Row]:
    return [tuple(_plain(v) for v in row) for row in _query(built, f"select {', '.join(columns)} from {relation}")]


def _columns_of(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _describe_student(built: Built) -> Callable[[Hashable], str]:
    """The raw student_id of a hand-written student, for readable failures."""
    names = {ref.student_hash(s): s for s in ("mart-quiet", "mart-midnight", "mart-last", "mart-exit", "win-edges",
                                             "win-gap", "win-late", "edge-midnight", "edge-ok", "edge-future")}

    def describe(key: Hashable) -> str:
        assert isinstance(key, tuple)
        return names.get(key[0], "generated")
    return describe


DATASETS = ("sample", "windows")

# --------------------------------------------------------------------------- tests


def test_input_events_match_silver(sample: Built) -> None:
    """The reference's typed input columns are silver.events_cleaned's (so mart differences are mart logic)."""
    columns = ("event_id", "session_id", "date", "course_id", "chapter_id", "question_id", "quiz_id",
               "scroll_depth", "duration_seconds", "is_correct", "time_spent_seconds")
    ref_rows = [tuple(getattr(e, c) for c in columns) for e in sample.reference.events]
    _assert_same("events_cleaned typed columns", columns, 1,
                 _dbt_rows(sample, "silver.events_cleaned", columns), ref_rows)


CHAPTER_COLUMNS = _columns_of(marts.ChapterEngagement)


@pytest.mark.parametrize("dataset", DATASETS)
def test_chapter_engagement(dataset: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(dataset)
    _assert_same(f"{dataset}: gold.chapter_engagement", CHAPTER_COLUMNS, 3,
                 _dbt_rows(built, "gold.chapter_engagement", CHAPTER_COLUMNS),
                 [astuple(r) for r in built.reference.chapter_engagement])


QUESTION_COLUMNS = _columns_of(marts.QuestionAttempts)


@pytest.mark.parametrize("dataset", DATASETS)
def test_question_attempts_summary(dataset: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(dataset)
    _assert_same(f"{dataset}: gold.question_attempts_summary", QUESTION_COLUMNS, 3,
                 _dbt_rows(built, "gold.question_attempts_summary", QUESTION_COLUMNS),
                 [astuple(r) for r in built.reference.question_attempts_summary])


FEATURE_COLUMNS = _columns_of(marts.StudentFeatures)


@pytest.mark.parametrize("dataset", DATASETS)
def test_student_features(dataset: str, request: pytest.FixtureRequest) -> None:
    built: Built = request.getfixturevalue(dataset)
    _assert_same(f"{dataset}: feature_store.student_features", FEATURE_COLUMNS, 2,
                 _dbt_rows(built, "feature_store.student_features", FEATURE_COLUMNS),
                 [astuple(r) for r in built.reference.student_features], _describe_student(built))


EXPECTED_TYPES = {
    ("gold", "chapter_engagement"): {
        "total_time_spent": "DOUBLE", "avg_time_per_visit": "DOUBLE", "avg_scroll_depth": "DOUBLE",
        "dropoff_rate": "DOUBLE", "visits_count": "INTEGER", "unique_students": "INTEGER"},
    ("gold", "question_attempts_summary"): {
        "attempts_count": "INTEGER", "correct_count": "INTEGER", "avg_time_spent": "DOUBLE",
        "difficulty_estimate": "DOUBLE"},
    ("feature_store", "student_features"): {
        "rolling_7d_time_spent": "DOUBLE", "rolling_7d_sessions": "INTEGER", "avg_quiz_accuracy_30d": "DOUBLE",
        "last_login_days_ago": "INTEGER", "engagement_trend": "DOUBLE"},
}
INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                 "UBIGINT"}


def test_column_types(sample: Built) -> None:
    """metrics.md: durations are seconds (double); ratios are doubles; counts are integers."""
    problems = []
    for (schema, table), expected in EXPECTED_TYPES.items():
        actual: dict[str, str] = dict(_query(sample, "select column_name, data_type from information_schema.columns "
                                     f"where table_schema = '{schema}' and table_name = '{table}'"))
        for column, kind in expected.items():
            got = actual.get(column)
            ok = got in INTEGER_TYPES if kind == "INTEGER" else got == kind
            if not ok:
                problems.append(f"{schema}.{table}.{column}: {got}, expected {kind}")
    assert not problems, problems


# --------------------------------------------------------------------------- the reference on its own


def _by_key(rows: list[Any], *names: str) -> dict[tuple[Any, ...], Any]:
    return {tuple(getattr(r, n) for n in names): r for r in rows}


def test_reference_mart_edge_cases(sample: Built) -> None:
    """The reference gets the hand-written cases right (guards against a mistake shared with dbt)."""
    result = sample.reference
    events = {e.raw_event_id: e for e in result.events}
    day = {n: events[f"mart-{name}"].date for n, name in ((5, "mid-1"), (4, "mid-2"), (3, "exit-1"), (2, "course-1"))}
    dwell = result.dwell
    assert (dwell["mart-mid-1"], dwell["mart-mid-2"]) == (900.0, 300.0)
    assert (dwell["mart-last-2"], dwell["mart-last-3"], dwell["mart-last-4"]) == (42.5, None, 1800.0)
    assert (dwell["mart-last-5"], dwell["mart-last-6"]) == (1800.0, 10.0)
    assert (dwell["mart-exit-3a"], dwell["mart-exit-3b"]) == (0.0, 120.0)

    chapters = _by_key(result.chapter_engagement, "date", "course_id", "chapter_id")
    c = EDGE_COURSE

    def row(d: int, course: str | None, chapter: str) -> tuple[Any, ...]:
        return astuple(chapters[(day[d], course, chapter)])[3:]

    # (total_time_spent, visits_count, avg_time_per_visit, unique_students, avg_scroll_depth, dropoff_rate)
    assert row(5, c, "edge-mid-ch") == (900.0, 1, 900.0, 1, None, 0.0)
    assert row(4, c, "edge-mid-ch") == (300.0, 0, None, 1, 0.4, None)
    assert row(4, c, "edge-mid-ch2") == (0.0, 1, 0.0, 1, None, 1.0)
    assert row(5, c, "edge-noscroll-ch") == (90.0, 1, 90.0, 1, None, 1.0)
    assert row(5, c, "edge-scroll-ch") == (180.0, 1, 180.0, 1, pytest.approx(2.7 / 4), 1.0)
    assert row(4, c, "edge-last-ch") == (42.5, 2, 21.25, 1, None, 1.0)
    assert row(4, c, "edge-cap-ch") == (1800.0, 1, 1800.0, 1, None, 1.0)
    assert row(4, c, "edge-gap-ch") == (1810.0, 1, 1810.0, 1, None, 1.0)
    assert row(2, "alg1", "alg1-ch4") == (20.0, 1, 20.0, 1, None, 1.0)
    assert row(2, None, "edge-orphan-ch") == (21.0, 1, 21.0, 1, None, 1.0)
    assert row(2, "bio1", "alg1-ch5") == (22.0, 1, 22.0, 1, None, 1.0)
    assert row(3, c, "edge-mixed-ch") == (300.0, 1, 300.0, 1, None, 1.0)
    assert row(3, None, "edge-mixed-ch") == (7.0, 0, None, 1, None, None)
    assert row(3, c, "edge-exit-a") == (420.0, 1, 420.0, 1, None, 1.0)
    assert row(3, c, "edge-exit-b") == (360.0, 2, 180.0, 1, None, 0.5)
    assert row(3, c, "edge-exit-c") == (0.0, 1, 0.0, 1, None, 0.0)

    questions = _by_key(result.question_attempts_summary, "date", "quiz_id", "question_id")
    assert astuple(questions[(day[4], "edge-quiz", "edge-q-notime")])[3:] == (2, 1, None, 0.5)
    assert astuple(questions[(day[4], "edge-quiz", "edge-q-mixed")])[3:] == (3, 2, 16.625, 1 - 3 / 5)
    assert astuple(questions[(day[4], "edge-quiz-2", "edge-q-mixed")])[3:] == (1, 0, 7.0, 1 - 1 / 3)
    assert astuple(questions[(day[4], "edge-mid-quiz", "edge-mid-q1")])[3:] == (1, 1, 12.5, 1 - 2 / 3)

    latest = max(e.date for e in result.events)
    quiet = [f for f in result.student_features if f.student_hash == ref.student_hash("mart-quiet")]
    assert [f.as_of_date for f in quiet] == marts.days(day[5] - timedelta(days=1), latest)
    assert [f.last_login_days_ago for f in quiet] == list(range(len(quiet)))
    assert [f.rolling_7d_sessions for f in quiet] == [1 if n < 7 else 0 for n in range(len(quiet))]
    assert all(f.avg_quiz_accuracy_30d is None for f in quiet)
    midnight = _by_key([f for f in result.student_features if f.student_hash == ref.student_hash("mart-midnight")],
                       "as_of_date")
    assert (midnight[(day[5],)].last_login_days_ago, midnight[(day[4],)].last_login_days_ago) == (0, 1)
    assert midnight[(day[4],)].avg_quiz_accuracy_30d == 1.0


def test_reference_window_edges(windows: Built) -> None:
    """The window sums of win-edges, worked out from WINDOW_DAYS by hand."""
    result = windows.reference
    last = max(e.date for e in result.events)
    assert last == datetime.now(UTC).date() - timedelta(days=1)
    seconds = {k: 2**i / 2 for i, k in enumerate(WINDOW_DAYS)}
    correct = {k: i % 2 == 0 for i, k in enumerate(WINDOW_DAYS)}
    features = _by_key([f for f in result.student_features if f.student_hash == ref.student_hash("win-edges")],
                       "as_of_date")
    assert len(features) == 35
    for as_of_ago in range(35):
        f = features[(last - timedelta(days=as_of_ago),)]
        ago = {k - as_of_ago: k for k in WINDOW_DAYS if k >= as_of_ago}  # days before as_of -> k
        cur = sum(seconds[k] for n, k in ago.items() if n <= 6)
        prev = sum(seconds[k] for n, k in ago.items() if 7 <= n <= 13)
        tried = [correct[k] for n, k in ago.items() if n <= 29]
        assert f.rolling_7d_time_spent == cur, as_of_ago
        assert f.rolling_7d_sessions == sum(1 for n in ago if n <= 6), as_of_ago
        assert f.engagement_trend == (cur - prev) / max(cur + prev, 1), as_of_ago
        assert f.avg_quiz_accuracy_30d == (sum(tried) / len(tried) if tried else None), as_of_ago
        assert f.last_login_days_ago == min(ago), as_of_ago
    # Boundaries at as_of = LAST: 6 days back is in the 7-day window, 7 is not; 13 is in prev, 14 is not;
    # 29 is in the 30-day window, 30 is not.
    f = features[(last,)]
    assert f.rolling_7d_time_spent == seconds[0] + seconds[1] + seconds[6]
    assert f.engagement_trend * max(f.rolling_7d_time_spent + seconds[7] + seconds[8] + seconds[13], 1) == \
        pytest.approx(f.rolling_7d_time_spent - (seconds[7] + seconds[8] + seconds[13]))
    gap = _by_key([f for f in result.student_features if f.student_hash == ref.student_hash("win-gap")], "as_of_date")
    assert [gap[(last - timedelta(days=n),)].last_login_days_ago for n in (30, 29, 11, 10, 9, 1, 0)] == \
        [0, 1, 19, 0, 1, 9, 0]
    late = [f for f in result.student_features if f.student_hash == ref.student_hash("win-late")]
    assert [f.as_of_date for f in late] == marts.days(last - timedelta(days=3), last)
