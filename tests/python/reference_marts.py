"""An independent, pure-Python reading of spec/metrics.md for the marts above daily activity.

It builds what the dbt project should hold in `gold.chapter_engagement`,
`gold.question_attempts_summary` and `feature_store.student_features`, from the same
`raw.events` rows, written from the spec alone (plus the course catalog seed) so that
`test_reference_marts.py` can compare two implementations row by row.

Input: `reference_model` (validation, duplicates, session ids and daily activity, also a
reading of the spec, never the warehouse). The typed event fields the marts need and
reference_model does not keep (course_id, chapter_id, question_id, quiz_id and the
metadata numbers) are read here from each kept event's raw line and metadata, with the
record's own student_id and ip redacted as outside raw (events.md, Personal data).

Reading of the points the spec leaves open (the project's choices):
  * page dwell: seconds to the next event of the same session, any type, events ordered by
    (ts, event_id); the session's last event: its duration_seconds, else NULL; capped at
    session_inactivity_minutes * 60 = 1800 s;
  * chapter_engagement: course_id falls back to the catalog's course of the chapter;
    a visit takes the date and course_id of its first event in the chapter;
  * student_features: as_of_date up to the latest event date of the whole warehouse.

Standard library and orjson only; no SQL.
"""

from __future__ import annotations

import csv
import math
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

import reference_model as ref  # noqa: E402

CATALOG_CSV: Final = Path(__file__).resolve().parents[2] / "seeds" / "course_catalog.csv"
DWELL_CAP_SECONDS: Final = ref.SESSION_INACTIVITY.total_seconds()  # session_inactivity_minutes * 60


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class MartEvent:
    """A kept event with what the marts read (the typed columns of silver.events_cleaned)."""

    event_id: str  # as written outside raw, which orders events with equal timestamps
    raw_event_id: str
    student_hash: str
    event_type: str
    ts: datetime
    date: date
    session_id: str
    course_id: str | None
    chapter_id: str | None
    question_id: str | None
    quiz_id: str | None
    scroll_depth: float | None  # 0..1
    duration_seconds: float | None
    is_correct: bool | None
    time_spent_seconds: float | None
    watched_seconds: float | None

    @property
    def order(self) -> tuple[datetime, str]:
        return (self.ts, self.event_id)


@dataclass(frozen=True)
class ChapterEngagement:
    date: date
    course_id: str | None
    chapter_id: str
    total_time_spent: float
    visits_count: int
    avg_time_per_visit: float | None
    unique_students: int
    avg_scroll_depth: float | None
    dropoff_rate: float | None


@dataclass(frozen=True)
class QuestionAttempts:
    date: date
    quiz_id: str
    question_id: str
    attempts_count: int
    correct_count: int
    avg_time_spent: float | None
    difficulty_estimate: float


@dataclass(frozen=True)
class StudentFeatures:
    student_hash: str
    as_of_date: date
    rolling_7d_time_spent: float
    rolling_7d_sessions: int
    avg_quiz_accuracy_30d: float | None
    last_login_days_ago: int | None
    engagement_trend: float


@dataclass(frozen=True)
class MartsResult:
    base: ref.ReferenceResult
    events: list[MartEvent]
    dwell: dict[str, float | None]  # raw_event_id of each page_view -> dwell
    chapter_engagement: list[ChapterEngagement]
    question_attempts_summary: list[QuestionAttempts]
    student_features: list[StudentFeatures]


# --------------------------------------------------------------------------- typed fields


def optional_id(value: Any) -> str | None:
    """An optional id field (course_id, chapter_id, question_id): NULL when absent, null or blank.

    A number is taken as its JSON text (7 -> "7"); events.md says these are strings, so other
    JSON types are not expected and are rendered as JSON text as well.
    """
    if ref.is_blank(value):
        return None
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def number(metadata: Mapping[str, Any], key: str) -> float | None:
    value = metadata.get(key)
    return float(value) if ref.is_number(value) else None


def scroll_depth(value: float | None) -> float | None:
    """events.md: 0..1; a value in (1, 100] is a percentage and is divided by 100."""
    if value is None:
        return None
    return value / 100.0 if value > 1 else value


def mart_event(valid: ref.ValidEvent, cleaned: ref.CleanedEvent) -> MartEvent:
    raw = orjson.loads(valid.record.raw_line)
    metadata = valid.metadata
    kind = valid.event_type
    is_page, is_quiz = kind == "page_view", kind == "quiz_attempt"
    quiz_id = metadata.get("quiz_id")
    is_correct = metadata.get("is_correct")
    targets = ref.redaction_targets(valid.student_id, valid.context.get("ip"))

    def text(value: Any) -> str | None:
        found = optional_id(value)
        return None if found is None else ref.redact(found, targets)
    return MartEvent(
        event_id=cleaned.event_id, raw_event_id=cleaned.raw_event_id, student_hash=cleaned.student_hash,
        event_type=kind, ts=cleaned.ts, date=cleaned.date, session_id=cleaned.session_id,
        course_id=text(raw.get("course_id")), chapter_id=text(raw.get("chapter_id")),
        question_id=text(raw.get("question_id")),
        quiz_id=ref.redact(quiz_id, targets) if isinstance(quiz_id, str) and quiz_id.strip() else None,
        scroll_depth=scroll_depth(number(metadata, "scroll_depth")) if is_page else None,
        duration_seconds=number(metadata, "duration_seconds") if is_page else None,
        is_correct=is_correct if is_quiz and isinstance(is_correct, bool) else None,
        time_spent_seconds=number(metadata, "time_spent_seconds") if is_quiz else None,
        watched_seconds=cleaned.watched_seconds,
    )


def load_catalog(path: Path = CATALOG_CSV) -> dict[str, str]:
    """chapter_id -> course_id of the course catalog seed."""
    catalog: dict[str, str] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            assert row["chapter_id"] not in catalog, f"chapter {row['chapter_id']} twice in the catalog"
            catalog[row["chapter_id"]] = row["course_id"]
    return catalog


# --------------------------------------------------------------------------- page dwell


def by_session(events: Iterable[MartEvent]) -> dict[str, list[MartEvent]]:
    """Each session's events in (ts, event_id) order."""
    sessions: dict[str, list[MartEvent]] = defaultdict(list)
    for event in events:
        sessions[event.session_id].append(event)
    for session_events in sessions.values():
        session_events.sort(key=lambda e: e.order)
    return sessions


def page_dwell(events: Sequence[MartEvent]) -> dict[str, float | None]:
    """Dwell of every page_view: to the next event of its session, else its duration_seconds; capped."""
    dwell: dict[str, float | None] = {}
    for session_events in by_session(events).values():
        for position, event in enumerate(session_events):
            if event.event_type != "page_view":
                continue
            if position + 1 < len(session_events):
                value: float | None = (session_events[position + 1].ts - event.ts).total_seconds()
            else:
                value = event.duration_seconds
            dwell[event.raw_event_id] = None if value is None else min(value, DWELL_CAP_SECONDS)
    return dwell


# --------------------------------------------------------------------------- gold


def mean(values: Sequence[float]) -> float | None:
    return math.fsum(values) / len(values) if values else None


def ratio(numerator: int | float, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


ChapterKey = tuple[date, str | None, str]


def chapter_engagement(events: Sequence[MartEvent], dwell: Mapping[str, float | None],
                       catalog: Mapping[str, str]) -> list[ChapterEngagement]:
    in_chapter = [e for e in events if e.chapter_id is not None]

    def course_of(event: MartEvent) -> str | None:
        assert event.chapter_id is not None
        return event.course_id if event.course_id is not None else catalog.get(event.chapter_id)

    def key_of(event: MartEvent) -> ChapterKey:
        assert event.chapter_id is not None
        return (event.date, course_of(event), event.chapter_id)

    time_spent: dict[ChapterKey, list[float]] = defaultdict(list)
    students: dict[ChapterKey, set[str]] = defaultdict(set)
    scrolls: dict[ChapterKey, list[float]] = defaultdict(list)
    for event in in_chapter:
        key = key_of(event)
        students[key].add(event.student_hash)
        if event.event_type == "page_view":
            time_spent[key].append(dwell.get(event.raw_event_id) or 0.0)
            if event.scroll_depth is not None:
                scrolls[key].append(event.scroll_depth)

    # A visit: (session_id, chapter_id), dated and coursed by its first event in the chapter.
    first_in_visit: dict[tuple[str, str], MartEvent] = {}
    for event in sorted(in_chapter, key=lambda e: e.order):
        assert event.chapter_id is not None
        first_in_visit.setdefault((event.session_id, event.chapter_id), event)
    # The chapter of each session's last event that has one.
    exit_chapter: dict[str, str] = {}
    for session_id, session_events in by_session(in_chapter).items():
        last_chapter = session_events[-1].chapter_id
        assert last_chapter is not None
        exit_chapter[session_id] = last_chapter
    visits: dict[ChapterKey, int] = defaultdict(int)
    exits: dict[ChapterKey, int] = defaultdict(int)
    for (session_id, chapter_id), first in first_in_visit.items():
        visits[key_of(first)] += 1
        exits[key_of(first)] += exit_chapter[session_id] == chapter_id

    rows = []
    for key in sorted(students, key=repr):
        total = math.fsum(time_spent[key])
        day, course_id, chapter_id = key
        rows.append(ChapterEngagement(
            date=day, course_id=course_id, chapter_id=chapter_id, total_time_spent=total,
            visits_count=visits[key], avg_time_per_visit=ratio(total, visits[key]),
            unique_students=len(students[key]), avg_scroll_depth=mean(scrolls[key]),
            dropoff_rate=ratio(exits[key], visits[key])))
    return rows


def question_attempts_summary(events: Sequence[MartEvent]) -> list[QuestionAttempts]:
    attempts: dict[tuple[date, str, str], list[MartEvent]] = defaultdict(list)
    for event in events:
        if event.event_type == "quiz_attempt":
            assert event.quiz_id is not None and event.question_id is not None, event.event_id
            attempts[(event.date, event.quiz_id, event.question_id)].append(event)
    rows = []
    for (day, quiz_id, question_id), group in sorted(attempts.items()):
        correct = sum(e.is_correct is True for e in group)
        spent = [e.time_spent_seconds for e in group if e.time_spent_seconds is not None]
        rows.append(QuestionAttempts(
            date=day, quiz_id=quiz_id, question_id=question_id, attempts_count=len(group),
            correct_count=correct, avg_time_spent=mean(spent),
            difficulty_estimate=1 - (correct + 1) / (len(group) + 2)))
    return rows


# --------------------------------------------------------------------------- feature store


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def student_features(events: Sequence[MartEvent], daily: Sequence[ref.DailyActivity]) -> list[StudentFeatures]:
    """One row per student and as_of_date, from the student's first event date to the warehouse's latest."""
    if not events:
        return []
    latest = max(e.date for e in events)
    first_date: dict[str, date] = {}
    for event in events:
        first_date[event.student_hash] = min(event.date, first_date.get(event.student_hash, event.date))
    time_spent: dict[tuple[str, date], float] = {}
    sessions: dict[tuple[str, date], int] = {}
    for activity in daily:
        time_spent[(activity.student_hash, activity.date)] = activity.total_time_spent_seconds
        sessions[(activity.student_hash, activity.date)] = activity.total_sessions
    attempts: dict[tuple[str, date], int] = defaultdict(int)
    correct: dict[tuple[str, date], int] = defaultdict(int)
    for event in events:
        if event.event_type == "quiz_attempt":
            attempts[(event.student_hash, event.date)] += 1
            correct[(event.student_hash, event.date)] += event.is_correct is True

    def window_time(student: str, as_of: date, newest: int, oldest: int) -> float:
        """Sum of daily time spent over [as_of - oldest, as_of - newest]."""
        return math.fsum(time_spent.get((student, as_of - timedelta(days=n)), 0.0)
                         for n in range(newest, oldest + 1))

    rows = []
    for student in sorted(first_date):
        last_login: date | None = None
        for as_of in days(first_date[student], latest):
            if sessions.get((student, as_of), 0) > 0:
                last_login = as_of
            window_7 = [as_of - timedelta(days=n) for n in range(7)]
            window_30 = [as_of - timedelta(days=n) for n in range(30)]
            cur = window_time(student, as_of, 0, 6)
            prev = window_time(student, as_of, 7, 13)
            tried = sum(attempts[(student, d)] for d in window_30)
            right = sum(correct[(student, d)] for d in window_30)
            rows.append(StudentFeatures(
                student_hash=student, as_of_date=as_of, rolling_7d_time_spent=cur,
                rolling_7d_sessions=sum(sessions.get((student, d), 0) for d in window_7),
                avg_quiz_accuracy_30d=ratio(right, tried),
                last_login_days_ago=None if last_login is None else (as_of - last_login).days,
                engagement_trend=(cur - prev) / max(cur + prev, 1.0)))
    return rows


# --------------------------------------------------------------------------- pipeline


def run(records: Iterable[ref.RawRecord], salt: str = ref.DEMO_SALT, aliases: Mapping[str, str] | None = None,
        catalog: Mapping[str, str] | None = None) -> MartsResult:
    """reference_model's steps (the same composition as its run), then the marts."""
    classification, kept = ref.classify(records, aliases if aliases is not None else ref.load_aliases())
    cleaned, sessions = ref.sessionize([ref.clean(event, salt) for event in kept])
    base = ref.ReferenceResult(classification=classification, cleaned=cleaned, sessions=sessions,
                               daily_activity=ref.daily_activity(cleaned, sessions))
    valid_by_id = {event.event_id: event for event in kept}
    events = [mart_event(valid_by_id[e.raw_event_id], e) for e in cleaned]
    dwell = page_dwell(events)
    return MartsResult(
        base=base, events=events, dwell=dwell,
        chapter_engagement=chapter_engagement(events, dwell, catalog if catalog is not None else load_catalog()),
        question_attempts_summary=question_attempts_summary(events),
        student_features=student_features(events, base.daily_activity))
