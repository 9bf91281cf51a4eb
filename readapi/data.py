"""An in-memory copy of the tables the API serves, replaced when the warehouse has a new snapshot.

Reading the lake per request would cost a catalog attach and Parquet reads each time; the
served tables are small (marts and features, not events), so each snapshot is copied once
into an in-memory DuckDB and requests read that. A background thread looks at the lake's
latest snapshot every `refresh_seconds` and, when it changed, builds a new copy beside the
old one and swaps them: a request sees one snapshot from start to end, never a mix.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from ingest.settings import Settings
from ingest.warehouse.lake import connect

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Served:
    """A served table: where it comes from, its columns, and which columns say how fresh it is."""

    name: str  # schema.table, the same in the lake and in the copy
    columns: tuple[str, ...]
    partition: str | None  # its date-like column (latest partition), if any
    source: str | None = None  # a select from `{lake}.<reads>`, when it is not a plain copy of `name`
    reads: str | None = None  # the lake table `source` reads

    @property
    def lake_table(self) -> str:
        return self.reads or self.name

    def select(self, lake: str) -> str:
        if self.source:
            return self.source.format(lake=lake)
        return f"select {', '.join(self.columns)} from {lake}.{self.name}"


SERVED: tuple[Served, ...] = (
    Served("gold.student_daily_activity",
           ("date", "student_hash", "total_sessions", "total_time_spent_seconds", "pages_viewed", "quizzes_attempted",
            "videos_watched_seconds", "assignments_submitted", "quizzes_correct", "updated_at"), "date"),
    Served("feature_store.student_features",
           ("student_hash", "as_of_date", "rolling_7d_time_spent", "rolling_7d_sessions", "avg_quiz_accuracy_30d",
            "last_login_days_ago", "engagement_trend", "updated_at"), "as_of_date"),
    Served("gold.chapter_engagement",
           ("date", "course_id", "chapter_id", "total_time_spent", "visits_count", "avg_time_per_visit",
            "unique_students", "avg_scroll_depth", "dropoff_rate", "updated_at"), "date"),
    Served("gold.question_attempts_summary",
           ("date", "quiz_id", "question_id", "attempts_count", "correct_count", "avg_time_spent",
            "difficulty_estimate", "updated_at"), "date"),
    Served("gold.class_chapter_engagement",
           ("class_id", "school_id", "date", "course_id", "chapter_id", "total_time_spent", "visits_count",
            "avg_time_per_visit", "unique_students", "avg_scroll_depth", "dropoff_rate", "updated_at"), "date"),
    Served("gold.class_question_attempts_summary",
           ("class_id", "school_id", "date", "quiz_id", "question_id", "attempts_count", "correct_count",
            "avg_time_spent", "difficulty_estimate", "updated_at"), "date"),
    Served("gold.course_activity_realtime",
           ("course_id", "minute_start", "events_count", "active_students_5m", "active_students_15m", "updated_at"),
           "minute_start"),
    Served("silver.class_students", ("class_id", "school_id", "course_id", "student_hash"), None),
    Served("silver.class_teachers", ("class_id", "school_id", "course_id", "teacher_id"), None),
    # Which course a quiz belongs to (question difficulty of a course): not a table of the lake.
    Served("silver.quiz_courses", ("quiz_id", "course_id"), None,
           source="select distinct quiz_id, course_id from {lake}.silver.events_cleaned "
                  "where quiz_id is not null and course_id is not null", reads="silver.events_cleaned"),
)


@dataclass(frozen=True)
class Freshness:
    table: str
    latest_partition: date | datetime | None
    latest_run: datetime | None
    rows: int


@dataclass
class Roster:
    """Who may see what, in Python sets: scope checks cost no query (readapi/scopes.py)."""

    teacher_classes: dict[str, set[str]] = field(default_factory=dict)  # teacher_id -> class ids
    teacher_courses: dict[str, set[str]] = field(default_factory=dict)  # teacher_id -> course ids
    school_classes: dict[str, set[str]] = field(default_factory=dict)  # school_id -> class ids
    school_courses: dict[str, set[str]] = field(default_factory=dict)  # school_id -> course ids
    class_students: dict[str, set[str]] = field(default_factory=dict)  # class_id -> student hashes
    school_students: dict[str, set[str]] = field(default_factory=dict)  # school_id -> student hashes

    @classmethod
    def read(cls, connection: duckdb.DuckDBPyConnection, missing: set[str]) -> Roster:
        roster = cls()
        if "silver.class_teachers" not in missing:
            for class_id, school_id, course_id, teacher_id in connection.execute(
                    "select class_id, school_id, course_id, teacher_id from silver.class_teachers").fetchall():
                roster.teacher_classes.setdefault(teacher_id, set()).add(class_id)
                roster.teacher_courses.setdefault(teacher_id, set()).add(course_id)
                roster.school_classes.setdefault(school_id, set()).add(class_id)
                roster.school_courses.setdefault(school_id, set()).add(course_id)
        if "silver.class_students" not in missing:
            for class_id, school_id, course_id, student_hash in connection.execute(
                    "select class_id, school_id, course_id, student_hash from silver.class_students").fetchall():
                roster.class_students.setdefault(class_id, set()).add(student_hash)
                roster.school_students.setdefault(school_id, set()).add(student_hash)
                roster.school_classes.setdefault(school_id, set()).add(class_id)
                roster.school_courses.setdefault(school_id, set()).add(course_id)
        return roster


@dataclass
class Copy:
    """One snapshot's tables in memory. `missing` names the tables the lake did not have."""

    connection: duckdb.DuckDBPyConnection
    snapshot: int
    loaded_at: datetime
    missing: set[str] = field(default_factory=set)
    freshness: list[Freshness] = field(default_factory=list)
    roster: Roster = field(default_factory=Roster)


class SnapshotWatch:
    """The lake's latest snapshot id, read on one connection kept open for it.

    Attaching the lake anew costs about 300 ms of CPU on a 10M-event warehouse (the extension
    loads and the catalog is read); asking an attached lake costs about 5 ms and still sees
    every commit of other processes. A check every few seconds on a fresh attach took the API's
    p99 at 200 requests/s from 5 ms to 140-160 ms on two cores (make bench-read)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.connection: duckdb.DuckDBPyConnection | None = None

    def latest(self) -> int:
        if self.connection is None:
            self.connection = connect(self.settings, read_only=True)
        try:
            row = self.connection.execute("select id from lake.current_snapshot()").fetchone()
        except duckdb.Error:
            self.close()  # the next check attaches again (a catalog server restarted, say)
            raise
        return int(row[0]) if row else 0

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


def _lake_tables(connection: duckdb.DuckDBPyConnection) -> set[str]:
    rows = connection.execute("select table_schema || '.' || table_name from information_schema.tables "
                              "where table_catalog = 'lake'").fetchall()
    return {name for (name,) in rows}


def copy_tables(settings: Settings) -> Copy:
    """The served tables of the lake's current snapshot, in an in-memory database of their own."""
    connection = connect(settings, read_only=True)
    try:
        snapshot_row = connection.execute("select id from lake.current_snapshot()").fetchone()
        present = _lake_tables(connection)
        copy = Copy(connection=connection, snapshot=int(snapshot_row[0]) if snapshot_row else 0,
                    loaded_at=datetime.now().astimezone())
        connection.execute("use memory")
        for schema in sorted({table.name.split(".")[0] for table in SERVED}):
            connection.execute(f"create schema if not exists memory.{schema}")
        for table in SERVED:
            if table.lake_table not in present:
                copy.missing.add(table.name)
                continue
            connection.execute(f"create table memory.{table.name} as {table.select('lake')}")
        connection.execute("detach lake")
        # Requests are small queries: one thread each is faster than a parallel plan.
        connection.execute("set threads = 1")
        copy.roster = Roster.read(connection, copy.missing)
        for table in SERVED:
            if table.name in copy.missing or table.partition is None:
                continue
            row = connection.execute(f"select max({table.partition}), max(updated_at), count(*) "
                                     f"from {table.name}").fetchone()
            assert row is not None
            copy.freshness.append(Freshness(table.name, row[0], row[1], int(row[2])))
        return copy
    except BaseException:
        connection.close()
        raise


class Store:
    """The current copy, and the thread that replaces it when the warehouse moves on."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._copy = copy_tables(settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.watch = SnapshotWatch(settings)
        self.refresh_errors = 0

    @property
    def copy(self) -> Copy:
        return self._copy

    @contextmanager
    def cursor(self) -> Iterator[tuple[duckdb.DuckDBPyConnection, Copy]]:
        """A cursor of the current copy; the copy stays whole while it is used, even if replaced."""
        copy = self._copy
        cursor = copy.connection.cursor()
        try:
            yield cursor, copy
        finally:
            cursor.close()

    def refresh(self) -> bool:
        """Copy the warehouse again if it has a newer snapshot; True when the copy was replaced."""
        if self.watch.latest() == self._copy.snapshot:
            return False
        self._copy = copy_tables(self.settings)  # the old copy closes when its last cursor is gone
        log.info("serving snapshot %s", self._copy.snapshot)
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.settings.read_api.refresh_seconds):
            try:
                self.refresh()
            except Exception as error:  # the old copy keeps serving; the next round tries again
                self.refresh_errors += 1
                log.warning("cannot refresh from the warehouse: %s", error)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="readapi-refresh", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.watch.close()
