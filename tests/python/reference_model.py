"""An independent, pure-Python reading of spec/events.md and spec/metrics.md.

It turns the bronze rows of `raw.events` into what the dbt project should build:
the classification of every raw record (kept, duplicate or a rejection reason),
the cleaned events with `student_hash`, `session_id` and the event_id as written outside
raw (events.md, Personal data: the record's own student_id and ip redacted; the project's
choice of a salted suffix that keeps the key unique), `silver.sessions` and
`gold.student_daily_activity`. It is written from the spec alone (plus the alias seed),
so that `test_reference_model.py` can compare two implementations row by row.

Standard library and orjson only; no SQL.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final, TypeGuard

import orjson

DEMO_SALT: Final = "student-behavior-demo-salt"
SESSION_INACTIVITY: Final = timedelta(minutes=30)
MAX_FUTURE: Final = timedelta(hours=24)
MIN_TS: Final = datetime(2000, 1, 1, tzinfo=UTC)
ALIASES_CSV: Final = Path(__file__).resolve().parents[2] / "seeds" / "event_type_aliases.csv"

REDACTED: Final = "<redacted>"
MIN_REDACTED_LENGTH: Final = 4  # events.md: ids of at least 4 characters
KEY_DIGEST_LENGTH: Final = 16

KEPT: Final = "kept"
DUPLICATE: Final = "duplicate"

VIDEO_TYPES: Final = frozenset({"video_play", "video_pause", "video_progress", "video_complete"})
DEVICE_TYPES: Final = frozenset({"mobile", "tablet", "desktop", "bot", "unknown"})
MOBILE_DEVICES: Final = frozenset({"mobile", "tablet"})

# YYYY-MM-DD[T or space]HH:MM[:SS[.fraction]] with optional Z/z or +-HH[:MM] / +-HHMM.
TIMESTAMP_RE: Final = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})[T ](?P<h>\d{2}):(?P<mi>\d{2})"
    r"(?::(?P<s>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<zone>[Zz]|(?P<sign>[+-])(?P<oh>\d{2})(?::?(?P<om>\d{2}))?)?"
)


class Rejected(Exception):
    """A raw record breaks a rule; `reason` is its rejection code."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class RawRecord:
    """One row of raw.events."""

    raw_line: str
    source_file: str
    line_number: int
    loaded_at: datetime  # aware, UTC

    @property
    def key(self) -> tuple[str, int]:
        return (self.source_file, self.line_number)


@dataclass(frozen=True)
class ValidEvent:
    """A record that passed every rule (before the duplicate rule)."""

    record: RawRecord
    event_id: str
    student_id: str
    event_type: str
    ts: datetime  # aware, UTC
    metadata: Mapping[str, Any]
    context: Mapping[str, Any]


@dataclass(frozen=True)
class CleanedEvent:
    event_id: str  # as written outside raw (silver_key)
    raw_event_id: str
    student_hash: str
    event_type: str
    ts: datetime
    date: date
    device_type: str
    device_hint: str | None  # the valid client hint, None when device_type came from the user agent
    watched_seconds: float | None
    session_id: str = ""


@dataclass(frozen=True)
class Session:
    session_id: str
    student_hash: str
    session_start: datetime
    session_end: datetime
    session_duration_seconds: float
    events_count: int
    device_type: str
    is_mobile: bool
    date: date


@dataclass(frozen=True)
class DailyActivity:
    date: date
    student_hash: str
    total_sessions: int
    total_time_spent_seconds: float
    pages_viewed: int
    quizzes_attempted: int
    videos_watched_seconds: float
    assignments_submitted: int


@dataclass(frozen=True)
class ReferenceResult:
    classification: dict[tuple[str, int], str]
    cleaned: list[CleanedEvent]
    sessions: list[Session]
    daily_activity: list[DailyActivity]


# --------------------------------------------------------------------------- helpers


def load_aliases(path: Path = ALIASES_CSV) -> dict[str, str]:
    with open(path, newline="", encoding="utf-8") as handle:
        return {row["alias"]: row["event_type"] for row in csv.DictReader(handle)}


def is_blank(value: Any) -> bool:
    """Absent, JSON null or a string of only whitespace."""
    return value is None or (isinstance(value, str) and value.strip() == "")


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def student_hash(student_id: str, salt: str = DEMO_SALT) -> str:
    return hashlib.sha256(f"{salt}:{student_id}".encode()).hexdigest()


def redaction_targets(student_id: Any, ip: Any) -> tuple[str, ...]:
    """The record's own texts to redact (events.md, Personal data): student_id and context.ip
    when they are strings or integers of at least 4 characters that are not blank."""
    texts = [str(v) for v in (student_id, ip) if isinstance(v, (str, int)) and not isinstance(v, bool)]
    return tuple(t for t in texts if len(t) >= MIN_REDACTED_LENGTH and t.strip(" \t\n\r"))


def redact(text: str, targets: Sequence[str]) -> str:
    for target in targets:
        text = text.replace(target, REDACTED)
    return text


def silver_key(key: str, targets: Sequence[str], salt: str = DEMO_SALT) -> str:
    """A key (event_id) holding an id: redacted, plus `~` and 16 hex characters of the salted
    SHA-256 of the raw key, so that keys stay unique and equal ones equal."""
    if not any(target in key for target in targets):
        return key
    digest = hashlib.sha256(f"{salt}:redacted-key:{key}".encode()).hexdigest()[:KEY_DIGEST_LENGTH]
    return f"{redact(key, targets)}~{redact(digest, targets)}"


def format_session_start(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def session_id(student_hash_: str, start: datetime) -> str:
    return hashlib.md5(f"{student_hash_}:{format_session_start(start)}".encode()).hexdigest()


def parse_timestamp(text: str) -> datetime | None:
    """The UTC instant of an ISO 8601 date-time, or None when it is not one (no surrounding spaces)."""
    match = TIMESTAMP_RE.fullmatch(text)
    if match is None:
        return None
    fraction = (match["f"] or "")[:6].ljust(6, "0")
    offset = timedelta(0)
    if match["sign"]:
        offset = timedelta(hours=int(match["oh"]), minutes=int(match["om"] or 0))
        if match["sign"] == "-":
            offset = -offset
    try:
        local = datetime(int(match["y"]), int(match["mo"]), int(match["d"]), int(match["h"]),
                         int(match["mi"]), int(match["s"] or 0), int(fraction),
                         tzinfo=timezone(offset))
        return local.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# --------------------------------------------------------------------------- validation


def parse_object(raw_line: str) -> dict[str, Any]:
    """The line as a JSON object (RFC 8259: NaN, Infinity and numbers beyond a double are not JSON)."""
    try:
        value = orjson.loads(raw_line)
    except orjson.JSONDecodeError:
        raise Rejected("malformed_json") from None
    if not isinstance(value, dict):
        raise Rejected("malformed_json")
    return value


def check_event_id(event: Mapping[str, Any]) -> str:
    value = event.get("event_id")
    if not isinstance(value, str) or value.strip() == "" or len(value) > 64:
        raise Rejected("missing_event_id")
    return value


def check_student_id(event: Mapping[str, Any]) -> str:
    value = event.get("student_id")
    if not isinstance(value, str) or value.strip() == "":
        raise Rejected("missing_student_id")
    return value


def check_event_type(event: Mapping[str, Any], aliases: Mapping[str, str]) -> str:
    value = event.get("event_type")
    if is_blank(value):
        raise Rejected("missing_event_type")
    if not isinstance(value, str):
        raise Rejected("unknown_event_type")
    normalized = value.lower().strip().replace("-", "_").replace(" ", "_")
    canonical = aliases.get(normalized)
    if canonical is None:
        raise Rejected("unknown_event_type")
    return canonical


def check_timestamp(event: Mapping[str, Any], loaded_at: datetime) -> datetime:
    value = event.get("timestamp")
    if is_blank(value):
        raise Rejected("missing_timestamp")
    ts = parse_timestamp(value) if isinstance(value, str) else None
    if ts is None:
        raise Rejected("bad_timestamp")
    if ts < MIN_TS or ts > loaded_at + MAX_FUTURE:
        raise Rejected("timestamp_out_of_range")
    return ts


def check_question_id(event: Mapping[str, Any], event_type: str) -> None:
    if event_type == "quiz_attempt" and is_blank(event.get("question_id")):
        raise Rejected("missing_question_id")


def metadata_of(event: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The metadata object, {} when absent or null, None when it is not an object."""
    value = event.get("metadata")
    if value is None:
        return {}
    return value if isinstance(value, dict) else None


def check_quiz_id(event: Mapping[str, Any], event_type: str) -> None:
    if event_type != "quiz_attempt":
        return
    metadata = metadata_of(event) or {}
    if is_blank(metadata.get("quiz_id")):
        raise Rejected("missing_quiz_id")


def _number(minimum: float, maximum: float | None = None, strict_minimum: bool = False,
            integral: bool = False) -> Callable[[Any], bool]:
    """A rule: a JSON number (not a boolean) in range, integer-valued when integral."""
    def check(value: Any) -> bool:
        if not is_number(value):
            return False
        if integral and not float(value).is_integer():
            return False
        if value < minimum or (strict_minimum and value == minimum):
            return False
        return maximum is None or value <= maximum
    return check


def _string(value: Any) -> bool:
    return isinstance(value, str)


def _boolean(value: Any) -> bool:
    return isinstance(value, bool)


_VIDEO_RULES: dict[str, Callable[[Any], bool]] = {
    "video_id": _string,
    "watched_seconds": _number(0),
    "video_duration_seconds": _number(0, strict_minimum=True),
    "position_seconds": _number(0),
}
METADATA_RULES: Final[dict[str, dict[str, Callable[[Any], bool]]]] = {
    "page_view": {"scroll_depth": _number(0, 100), "duration_seconds": _number(0)},
    **{video_type: _VIDEO_RULES for video_type in VIDEO_TYPES},
    "quiz_attempt": {
        "quiz_id": _string,
        "is_correct": _boolean,
        "time_spent_seconds": _number(0),
        "attempt_number": _number(1, integral=True),
    },
    "submit_assignment": {"assignment_id": _string, "on_time": _boolean},
}


def check_metadata(event: Mapping[str, Any], event_type: str) -> Mapping[str, Any]:
    metadata = metadata_of(event)
    if metadata is None:
        raise Rejected("bad_metadata")
    for key, rule in METADATA_RULES.get(event_type, {}).items():
        value = metadata.get(key)
        if value is not None and not rule(value):
            raise Rejected("bad_metadata")
    return metadata


def validate(record: RawRecord, aliases: Mapping[str, str]) -> ValidEvent:
    """The event of a raw record, or Rejected with the first reason that applies."""
    event = parse_object(record.raw_line)
    event_id = check_event_id(event)
    student_id = check_student_id(event)
    event_type = check_event_type(event, aliases)
    ts = check_timestamp(event, record.loaded_at)
    check_question_id(event, event_type)
    check_quiz_id(event, event_type)
    metadata = check_metadata(event, event_type)
    context = event.get("context")
    return ValidEvent(record=record, event_id=event_id, student_id=student_id, event_type=event_type,
                      ts=ts, metadata=metadata, context=context if isinstance(context, dict) else {})


# --------------------------------------------------------------------------- enrichment


def device_from_user_agent(user_agent: Any) -> str:
    if not isinstance(user_agent, str) or user_agent.strip() == "":
        return "unknown"
    ua = user_agent.lower()
    if re.search(r"bot|crawl|spider|slurp", ua):
        return "bot"
    if "ipad" in ua or "tablet" in ua or ("android" in ua and "mobile" not in ua):
        return "tablet"
    if "iphone" in ua or "ipod" in ua or "android" in ua or "mobile" in ua:
        return "mobile"
    if any(word in ua for word in ("windows", "macintosh", "mac os x", "x11", "cros", "linux")):
        return "desktop"
    return "unknown"


def device_hint(context: Mapping[str, Any]) -> str | None:
    """`context.device_type` when it is one of the device types (any letter case)."""
    hint = context.get("device_type")
    return hint.lower() if isinstance(hint, str) and hint.lower() in DEVICE_TYPES else None


def device_type(context: Mapping[str, Any]) -> str:
    return device_hint(context) or device_from_user_agent(context.get("user_agent"))


def watched_seconds(event: ValidEvent) -> float | None:
    value = event.metadata.get("watched_seconds")
    return float(value) if event.event_type in VIDEO_TYPES and is_number(value) else None


def clean(event: ValidEvent, salt: str = DEMO_SALT) -> CleanedEvent:
    targets = redaction_targets(event.student_id, event.context.get("ip"))
    return CleanedEvent(event_id=silver_key(event.event_id, targets, salt), raw_event_id=event.event_id,
                        student_hash=student_hash(event.student_id, salt),
                        event_type=event.event_type, ts=event.ts, date=event.ts.date(),
                        device_type=device_type(event.context), device_hint=device_hint(event.context),
                        watched_seconds=watched_seconds(event))


# --------------------------------------------------------------------------- pipeline


Classification = dict[tuple[str, int], str]


def classify(records: Iterable[RawRecord], aliases: Mapping[str, str]) -> tuple[Classification, list[ValidEvent]]:
    """Every record's fate, and the kept events (the first loaded of each event_id)."""
    classification: Classification = {}
    valid: list[ValidEvent] = []
    for record in records:
        try:
            event = validate(record, aliases)
        except Rejected as rejected:
            classification[record.key] = rejected.reason
            continue
        valid.append(event)
    valid.sort(key=lambda e: (e.record.loaded_at, e.record.source_file, e.record.line_number))
    kept: dict[str, ValidEvent] = {}
    for event in valid:
        if event.event_id in kept:
            classification[event.record.key] = DUPLICATE
        else:
            kept[event.event_id] = event
            classification[event.record.key] = KEPT
    return classification, list(kept.values())


def sessionize(events: Sequence[CleanedEvent]) -> tuple[list[CleanedEvent], list[Session]]:
    """Events with their session_id, and one Session per session."""
    by_student: dict[str, list[CleanedEvent]] = defaultdict(list)
    for event in events:
        by_student[event.student_hash].append(event)
    out_events: list[CleanedEvent] = []
    sessions: list[Session] = []
    for student, student_events in by_student.items():
        student_events.sort(key=lambda e: (e.ts, e.event_id))
        groups: list[list[CleanedEvent]] = []
        for event in student_events:
            if not groups or event.ts - groups[-1][-1].ts > SESSION_INACTIVITY:
                groups.append([])
            groups[-1].append(event)
        for group in groups:
            first, last = group[0], group[-1]
            sid = session_id(student, first.ts)
            out_events.extend(CleanedEvent(**{**e.__dict__, "session_id": sid}) for e in group)
            sessions.append(Session(
                session_id=sid, student_hash=student, session_start=first.ts, session_end=last.ts,
                session_duration_seconds=(last.ts - first.ts).total_seconds(), events_count=len(group),
                device_type=first.device_type, is_mobile=first.device_type in MOBILE_DEVICES,
                date=first.ts.date()))
    return out_events, sessions


def daily_activity(events: Sequence[CleanedEvent], sessions: Sequence[Session]) -> list[DailyActivity]:
    keys = sorted({(e.date, e.student_hash) for e in events})
    counts: dict[tuple[date, str, str], int] = defaultdict(int)
    watched: dict[tuple[date, str], float] = defaultdict(float)
    for e in events:
        counts[(e.date, e.student_hash, e.event_type)] += 1
        if e.event_type in VIDEO_TYPES and e.watched_seconds is not None:
            watched[(e.date, e.student_hash)] += e.watched_seconds
    session_count: dict[tuple[date, str], int] = defaultdict(int)
    session_time: dict[tuple[date, str], float] = defaultdict(float)
    for s in sessions:
        session_count[(s.date, s.student_hash)] += 1
        session_time[(s.date, s.student_hash)] += s.session_duration_seconds
    return [DailyActivity(
        date=day, student_hash=student, total_sessions=session_count[(day, student)],
        total_time_spent_seconds=session_time[(day, student)],
        pages_viewed=counts[(day, student, "page_view")],
        quizzes_attempted=counts[(day, student, "quiz_attempt")],
        videos_watched_seconds=watched[(day, student)],
        assignments_submitted=counts[(day, student, "submit_assignment")],
    ) for day, student in keys]


def run(records: Iterable[RawRecord], salt: str = DEMO_SALT,
        aliases: Mapping[str, str] | None = None) -> ReferenceResult:
    classification, kept = classify(records, aliases if aliases is not None else load_aliases())
    cleaned, sessions = sessionize([clean(event, salt) for event in kept])
    return ReferenceResult(classification=classification, cleaned=cleaned, sessions=sessions,
                           daily_activity=daily_activity(cleaned, sessions))
