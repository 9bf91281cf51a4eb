"""Synthetic LMS behaviour events that follow the event contract (spec/events.md).

Deterministic for a seed: every student draws from its own random stream, and students
are split into a fixed number of parts, so the same arguments give byte-identical files
(gzip headers carry no timestamp) whatever the number of worker processes.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import random
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, Any

import orjson

from ingest.contract.schemas import REJECTION_REASONS
from ingest.output import Progress
from ingest.sample.catalog import CHAPTERS, COURSE_IDS, IP_BLOCKS, Chapter

log = logging.getLogger(__name__)

TOPIC_OF_EVENT = {
    "page_view": "clickstream",
    "login": "clickstream",
    "logout": "clickstream",
    "submit_assignment": "clickstream",
    "video_play": "video",
    "video_pause": "video",
    "video_progress": "video",
    "video_complete": "video",
    "quiz_attempt": "quiz",
}
TOPICS = ("clickstream", "video", "quiz")

ALIASES = {
    "page_view": ["PageView", "page-view", "pageview"],
    "video_play": ["VideoPlay", "video-play"],
    "quiz_attempt": ["QuizAttempt", "quiz-attempt"],
    "login": ["Login"],
}

# One kind of dirty record per reason code of the contract.
DIRTY_KINDS = REJECTION_REASONS

USER_AGENTS = {
    "desktop": [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Safari/605.1.15",
        "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0 Safari/537.36",
    ],
    "mobile": [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0 Mobile Safari/537.36",
    ],
    "tablet": [
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
        "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    ],
    "bot": ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"],
}

HABITS = ("regular", "binge", "fading")


@dataclass(frozen=True)
class GenerateConfig:
    students: int
    days: int
    start: date
    seed: int
    out: Path
    dirty_rate: float = 0.01
    duplicate_rate: float = 0.005
    parts: int | None = None
    workers: int | None = None
    compresslevel: int = 1
    start_hour: int = 0
    hours: float | None = None  # keep only events in [start + start_hour, + hours)

    def window(self) -> tuple[datetime, datetime]:
        begin = datetime.combine(self.start, datetime.min.time(), tzinfo=UTC) + timedelta(hours=self.start_hour)
        if self.hours is None:
            return begin, begin + timedelta(days=self.days)
        return begin, begin + timedelta(hours=self.hours)

    def part_count(self) -> int:
        if self.parts:
            return self.parts
        return max(1, min(16, self.students // 500 + 1))


@dataclass
class PartReport:
    events: int = 0
    dirty: int = 0
    duplicates: int = 0
    files: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Student:
    student_id: str
    habit: str
    device: str
    platform: str
    user_agent: str
    ip: str
    skill: float
    courses: tuple[str, ...]
    sends_device_hint: bool
    utc_offset_hours: int


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def student_of(index: int, rng: random.Random) -> Student:
    """Student number `index`, drawn from its own random stream (the roster uses it too)."""
    habit = rng.choices(HABITS, weights=(60, 25, 15))[0]
    device = rng.choices(("desktop", "mobile", "tablet", "bot"), weights=(55, 30, 13, 2))[0]
    user_agent = rng.choice(USER_AGENTS[device])
    if device == "desktop" or device == "bot":
        platform = "web"
    else:
        platform = "ios" if ("iPhone" in user_agent or "iPad" in user_agent) else "android"
    block = rng.choice(IP_BLOCKS)
    host = rng.randrange(1, 255) if block.family == 4 else f"{rng.randrange(1, 0xFFFF):x}"
    return Student(
        student_id=f"s-{index:07d}",
        habit=habit,
        device=device,
        platform=platform,
        user_agent=user_agent,
        ip=f"{block.prefix}{host}",
        skill=rng.uniform(-0.25, 0.25),
        courses=tuple(rng.sample(COURSE_IDS, rng.randint(1, 3))),
        sends_device_hint=platform != "web" and rng.random() < 0.5,
        utc_offset_hours=rng.choice((0, 0, 1, 2, -5)),
    )


def _question_difficulty(question_id: str) -> float:
    digest = hashlib.blake2b(question_id.encode(), digest_size=2).digest()
    return 0.1 + 0.8 * int.from_bytes(digest, "big") / 65535


def _is_active(student: Student, day_index: int, weekday: int, rng: random.Random) -> bool:
    if student.habit == "regular":
        p = 0.75 if weekday < 5 else 0.3
    elif student.habit == "binge":
        p = 0.25
    else:
        p = 0.8 * (0.75**day_index)
    return rng.random() < p


def _format_ts(ts: datetime, student: Student, rng: random.Random) -> str:
    """Mostly UTC with `Z`; some clients send their local offset, a few send naive times."""
    roll = rng.random()
    if roll < 0.9 or student.utc_offset_hours == 0:
        return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
    if roll < 0.98:
        local = ts.astimezone(timezone(timedelta(hours=student.utc_offset_hours)))
        return local.isoformat(timespec="milliseconds")
    return ts.strftime("%Y-%m-%dT%H:%M:%S")


class _SessionWriter:
    """Builds one session's events in time order."""

    def __init__(self, student: Student, rng: random.Random, start: datetime) -> None:
        self.student = student
        self.rng = rng
        self.now = start
        self.course = rng.choice(student.courses)
        chapters = [c for c in CHAPTERS if c.course_id == self.course]
        self.chapter: Chapter = rng.choice(chapters)
        self.chapters = chapters
        self.events: list[dict[str, Any]] = []

    def _context(self) -> dict[str, Any]:
        s = self.student
        context: dict[str, Any] = {"user_agent": s.user_agent, "ip": s.ip, "platform": s.platform}
        if s.platform != "web":
            context["app_version"] = "4.2.0"
        if s.sends_device_hint:
            context["device_type"] = s.device
        return context

    def emit(self, event_type: str, metadata: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "event_id": _uuid(self.rng),
            "student_id": self.student.student_id,
            "event_type": event_type,
            "timestamp": self.now,
            "page_url": f"https://lms.example.org/courses/{self.course}/{self.chapter.chapter_id}",
            "course_id": self.course,
            "chapter_id": self.chapter.chapter_id,
        }
        event.update(fields)
        if metadata:
            event["metadata"] = metadata
        event["context"] = self._context()
        self.events.append(event)
        return event

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def gap(self) -> float:
        """Seconds to the next event: mostly short, sometimes a long pause within the session."""
        roll = self.rng.random()
        if roll < 0.02:
            return self.rng.uniform(20 * 60, 29.5 * 60)
        if roll < 0.025:
            return 30 * 60.0  # exactly the inactivity threshold: the session continues
        return self.rng.expovariate(1 / 40) + 2

    def page_view(self) -> None:
        if self.rng.random() < 0.25:
            self.chapter = self.rng.choice(self.chapters)
        gap = self.gap()
        metadata: dict[str, Any] = {}
        roll = self.rng.random()
        if roll < 0.85:
            depth = round(self.rng.random(), 2)
            metadata["scroll_depth"] = depth if roll < 0.8 else round(depth * 100)
        if self.rng.random() < 0.9:
            metadata["duration_seconds"] = round(max(0.0, gap * self.rng.uniform(0.8, 1.1)), 1)
        self.emit("page_view", metadata)
        self.advance(gap)

    def video(self) -> None:
        video_id = f"{self.chapter.chapter_id}-v{self.rng.randint(1, 3)}"
        duration = float(self.rng.randint(180, 900))
        position = 0.0
        self.emit("video_play", {"video_id": video_id, "video_duration_seconds": duration,
                                 "position_seconds": position, "watched_seconds": 0})
        for _ in range(self.rng.randint(1, 6)):
            watched = round(self.rng.uniform(20, 90), 1)
            self.advance(watched + self.rng.uniform(0, 3))
            position = min(duration, position + watched)
            event_type = "video_complete" if position >= duration else "video_progress"
            self.emit(event_type, {"video_id": video_id, "video_duration_seconds": duration,
                                   "position_seconds": position, "watched_seconds": watched})
            if event_type == "video_complete":
                break
        else:
            self.advance(self.rng.uniform(1, 20))
            self.emit("video_pause", {"video_id": video_id, "video_duration_seconds": duration,
                                      "position_seconds": position, "watched_seconds": 0})
        self.advance(self.gap())

    def quiz(self) -> None:
        quiz_id = f"{self.chapter.chapter_id}-quiz{self.rng.randint(1, 2)}"
        for number in range(1, self.rng.randint(2, 6)):
            question_id = f"{quiz_id}-q{number}"
            p_correct = min(0.97, max(0.03, 1 - _question_difficulty(question_id) + self.student.skill))
            for attempt in range(1, 4):
                spent = round(self.rng.uniform(5, 120), 1)
                self.advance(spent)
                correct = self.rng.random() < p_correct
                metadata: dict[str, Any] = {"quiz_id": quiz_id, "is_correct": correct,
                                            "selected_option": self.rng.choice("ABCD"),
                                            "attempt_number": attempt}
                if self.rng.random() < 0.95:
                    metadata["time_spent_seconds"] = spent
                self.emit("quiz_attempt", metadata, question_id=question_id)
                if correct or self.rng.random() < 0.6:
                    break
        self.advance(self.gap())

    def assignment(self) -> None:
        assignment_id = f"{self.chapter.chapter_id}-hw"
        self.emit("submit_assignment", {"assignment_id": assignment_id, "on_time": self.rng.random() < 0.8})
        self.advance(self.gap())


def _session_events(student: Student, rng: random.Random, start: datetime) -> list[dict[str, Any]]:
    session = _SessionWriter(student, rng, start)
    if rng.random() < 0.5:
        session.emit("login")
        session.advance(rng.uniform(1, 10))
    steps = max(1, int(rng.expovariate(1 / 10)))
    actions: tuple[Callable[[], None], ...] = (session.page_view, session.video, session.quiz, session.assignment)
    for _ in range(steps):
        rng.choices(actions, weights=(55, 22, 20, 3))[0]()
    if rng.random() < 0.4:
        session.emit("logout")
    return session.events


def _student_events(student: Student, config: GenerateConfig, rng: random.Random) -> Iterator[dict[str, Any]]:
    for day_index in range(config.days):
        day = config.start + timedelta(days=day_index)
        if not _is_active(student, day_index, day.weekday(), rng):
            continue
        sessions = rng.randint(1, 3) if student.habit != "binge" else rng.randint(3, 6)
        # Session start times in UTC, in the student's afternoon/evening; the last one of
        # the day sometimes starts late enough to run past midnight.
        starts = sorted(rng.uniform(7, 23.8) for _ in range(sessions))
        next_free = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        for hour in starts:
            start = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=hour)
            start = max(start, next_free + timedelta(minutes=rng.uniform(31, 120)))
            events = _session_events(student, rng, start)
            next_free = events[-1]["timestamp"]
            yield from events


def _dirty(event: dict[str, Any], kind: str, rng: random.Random) -> bytes:
    """One record broken in the way a given rejection reason describes."""
    event = dict(event)
    if kind == "malformed_json":
        text = orjson.dumps(event)
        return rng.choice((text[: len(text) // 2], b"{event_id: 'not json'", b"\x00\x01garbage", b"[1, 2, 3]"))
    if kind == "missing_event_id":
        event["event_id"] = rng.choice(("", None))
    elif kind == "missing_student_id":
        del event["student_id"]
    elif kind == "missing_event_type":
        event.pop("event_type")
    elif kind == "unknown_event_type":
        event["event_type"] = rng.choice(("page_scroll", "hover", "VideoRewindZZ"))
    elif kind == "missing_timestamp":
        del event["timestamp"]
    elif kind == "bad_timestamp":
        event["timestamp"] = rng.choice(("yesterday", "2025-13-45T99:00:00Z", "15/11/2025 08:31"))
    elif kind == "timestamp_out_of_range":
        event["timestamp"] = rng.choice(("1999-12-31T23:59:59Z", "2099-01-01T00:00:00Z"))
    elif kind == "missing_question_id":
        event.update(event_type="quiz_attempt", question_id=None,
                     metadata={"quiz_id": "alg1-ch1-quiz1", "is_correct": True})
    elif kind == "missing_quiz_id":
        event.update(event_type="quiz_attempt", question_id="alg1-ch1-quiz1-q1", metadata={"is_correct": False})
    elif kind == "bad_metadata":
        event.update(event_type="page_view", metadata={"scroll_depth": rng.choice((150, -0.2, "deep"))})
    return _encode(event)


def _encode(event: dict[str, Any]) -> bytes:
    return orjson.dumps(event)


def _render(event: dict[str, Any], student: Student, rng: random.Random) -> dict[str, Any]:
    rendered = dict(event)
    rendered["timestamp"] = _format_ts(event["timestamp"], student, rng)
    if rng.random() < 0.03 and event["event_type"] in ALIASES:
        rendered["event_type"] = rng.choice(ALIASES[event["event_type"]])
    return rendered


class _PartFiles:
    """Open gzip files of one part, one per (topic, date) partition."""

    def __init__(self, out: Path, part: int, compresslevel: int) -> None:
        self.out = out
        self.part = part
        self.compresslevel = compresslevel
        self.files: dict[tuple[str, date], gzip.GzipFile] = {}
        self._raw: list[IO[bytes]] = []  # under each gzip stream; GzipFile(fileobj=...) leaves them open

    def write(self, topic: str, day: date, line: bytes) -> None:
        handle = self.files.get((topic, day))
        if handle is None:
            folder = self.out / topic / f"date={day.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            raw = open(folder / f"part-{self.part:04d}.jsonl.gz", "wb")  # noqa: SIM115 (closed by close())
            self._raw.append(raw)
            handle = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=self.compresslevel, mtime=0)
            self.files[(topic, day)] = handle
        handle.write(line + b"\n")

    def close(self) -> list[str]:
        for handle in self.files.values():
            handle.close()
        for raw in self._raw:
            raw.close()
        return sorted(str(self.out / t / f"date={d.isoformat()}" / f"part-{self.part:04d}.jsonl.gz")
                      for t, d in self.files)


def _generate_part(config: GenerateConfig, part: int) -> PartReport:
    report = PartReport()
    files = _PartFiles(config.out, part, config.compresslevel)
    last_day = config.start + timedelta(days=config.days - 1)
    window_start, window_end = config.window()
    for index in range(part, config.students, config.part_count()):
        rng = random.Random(config.seed * 1_000_003 + index)
        student = student_of(index, rng)
        for event in _student_events(student, config, rng):
            if config.hours is not None and not window_start <= event["timestamp"] < window_end:
                continue
            event_day = event["timestamp"].date()
            topic = TOPIC_OF_EVENT[event["event_type"]]
            rendered = _render(event, student, rng)
            roll = rng.random()
            if roll < config.dirty_rate:
                line = _dirty(rendered, DIRTY_KINDS[rng.randrange(len(DIRTY_KINDS))], rng)
                report.dirty += 1
            else:
                line = _encode(rendered)
            # Late arrivals: a phone offline for a while uploads into a later partition.
            arrival_day = event_day
            if rng.random() < 0.003:
                arrival_day = min(last_day, event_day + timedelta(days=1))
            files.write(topic, max(arrival_day, config.start), line)
            report.events += 1
            if roll > 1 - config.duplicate_rate:
                # A client retry: the same event again, sometimes with a re-stamped time.
                if rng.random() < 0.3:
                    retried_at = event["timestamp"] + timedelta(seconds=1)
                    rendered = dict(rendered, timestamp=_format_ts(retried_at, student, rng))
                files.write(topic, min(last_day, event_day + timedelta(days=rng.randint(0, 1))), _encode(rendered))
                report.events += 1
                report.duplicates += 1
    report.files = files.close()
    return report


def generate(config: GenerateConfig, progress: bool = True) -> PartReport:
    """Write the sample to `config.out` and return what was written."""
    parts = config.part_count()
    workers = max(1, min(config.workers or 2, parts))
    total = PartReport()
    shown = Progress("generate", total=parts, unit="parts", item_unit="events", enabled=progress)
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(_generate_part, config, part) for part in range(parts)]
        for future in futures:
            report = future.result()
            total.events += report.events
            total.dirty += report.dirty
            total.duplicates += report.duplicates
            total.files.extend(report.files)
            shown.advance(done=1, items=report.events)
    shown.finish()
    return total
