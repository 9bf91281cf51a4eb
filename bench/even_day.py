"""A second shape of day for `make bench`: many students, an even spread over 24 h, wide lines.

The project's own generator (`python -m ingest generate`) makes a school day: a few
thousand students per million events, busy school hours, 1% dirty lines. This one is
written independently of it (it imports nothing from `ingest`) and makes the other
extreme: 200k students (by default) whose sessions start at any minute of the day, wider
JSON lines (long user agents and URLs, extra metadata keys the models do not use), and no
dirty lines, so every event goes all the way to the marts. It also writes the next hour
of events for the same students, for the incremental step.

    .venv/bin/python bench/even_day.py --events 10000000 --students 200000 --day 2026-11-30 --out bench/work/even
"""

from __future__ import annotations

import argparse
import gzip
import random
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

COURSES = {f"{subject}-{grade}": [f"{subject}-{grade}-u{unit:02d}" for unit in range(1, 9)]
           for subject in ("math", "science", "ela", "social") for grade in (6, 7, 8)}
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.6723.102 Safari/537.36",
)
PLATFORMS = ("web", "web", "web", "ios", "ios", "android")
# (event type, weight): a page-heavy mix with video and quizzes, logins and submissions.
EVENT_MIX = (("page_view", 46), ("video_play", 6), ("video_progress", 12), ("video_pause", 4), ("video_complete", 3),
             ("quiz_attempt", 18), ("submit_assignment", 3), ("login", 5), ("logout", 3))
PARTS_PER_HOUR = 2
SESSIONS_PER_STUDENT = 4


@dataclass(frozen=True)
class Window:
    start: datetime
    hours: int


def _event_line(rng: random.Random, student: int, ts: datetime, course: str, chapter: str) -> str:
    kinds, weights = zip(*EVENT_MIX, strict=True)
    event_type = rng.choices(kinds, weights)[0]
    agent = rng.randrange(len(USER_AGENTS))
    page = rng.randrange(1, 40)
    question = f"{chapter}-q{rng.randrange(1, 25):02d}"
    metadata: str
    if event_type == "page_view":
        metadata = (f'{{"scroll_depth": {rng.random():.3f}, "duration_seconds": {rng.uniform(5, 600):.1f}, '
                    f'"tab_visible": true, "locale": "en-US", "client_ts": {int(ts.timestamp() * 1000)}}}')
    elif event_type.startswith("video_"):
        metadata = (f'{{"video_id": "vid-{chapter}-{page:02d}", "watched_seconds": {rng.uniform(0, 120):.1f}, '
                    f'"video_duration_seconds": {rng.choice((180, 300, 420, 600))}, '
                    f'"position_seconds": {rng.uniform(0, 600):.1f}, "playback_rate": 1.0, "captions": false}}')
    elif event_type == "quiz_attempt":
        metadata = (f'{{"quiz_id": "quiz-{chapter}", "is_correct": {"true" if rng.random() < 0.62 else "false"}, '
                    f'"selected_option": "{"ABCD"[rng.randrange(4)]}", '
                    f'"time_spent_seconds": {rng.uniform(4, 240):.1f}, "attempt_number": {rng.randrange(1, 4)}, '
                    f'"hint_used": false}}')
    elif event_type == "submit_assignment":
        on_time = "true" if rng.random() < 0.8 else "false"
        metadata = f'{{"assignment_id": "asg-{chapter}-{page:02d}", "on_time": {on_time}}}'
    else:
        metadata = '{"sso_provider": "district-idp"}'
    question_id = f'"{question}"' if event_type == "quiz_attempt" else "null"
    return (
        f'{{"event_id": "{uuid.UUID(int=rng.getrandbits(128), version=4)}", "student_id": "stu-{student:09d}", '
        f'"event_type": "{event_type}", '
        f'"timestamp": "{ts.strftime("%Y-%m-%dT%H:%M:%S")}.{ts.microsecond // 1000:03d}Z", '
        f'"page_url": "https://lms.example-district.k12.us/courses/{course}/units/{chapter}/pages/{page}'
        f'?ref=dashboard&session_origin=portal", "course_id": "{course}", "chapter_id": "{chapter}", '
        f'"question_id": {question_id}, "metadata": {metadata}, '
        f'"context": {{"user_agent": "{USER_AGENTS[agent]}", "ip": "10.{student % 250}.{rng.randrange(256)}.'
        f'{rng.randrange(1, 255)}", "platform": "{PLATFORMS[agent]}", '
        f'"app_version": "5.{rng.randrange(10)}.{rng.randrange(20)}"}}}}'
    )


def _write_hour(args: tuple[Path, Window, int, int, float, int]) -> int:
    """One hour's events: sessions of every student that start in that hour; one file per part."""
    out, window, hour, students, events_per_student, seed = args
    rng = random.Random(seed * 1_000_003 + hour)
    hour_start = window.start + timedelta(hours=hour)
    lines: list[tuple[datetime, str]] = []
    mean_per_session = events_per_student / SESSIONS_PER_STUDENT
    for student in range(students):
        if window.hours >= 24:
            # Four sessions a day, six hours apart, each student on its own offset: every hour
            # of the day gets the same share of sessions.
            starts_here = sum(1 for s in range(SESSIONS_PER_STUDENT) if (student * 7 + s * 6) % 24 == hour % 24)
        else:
            starts_here = int(rng.random() < SESSIONS_PER_STUDENT / 24)
        for _ in range(starts_here):
            course = list(COURSES)[student % len(COURSES)]
            ts = hour_start + timedelta(seconds=rng.uniform(0, 3600))
            count = int(mean_per_session) + (rng.random() < mean_per_session % 1)
            for _ in range(count):
                chapter = COURSES[course][rng.randrange(len(COURSES[course]))]
                lines.append((ts, _event_line(rng, student, ts, course, chapter)))
                ts += timedelta(seconds=rng.uniform(15, 240))
    lines.sort(key=lambda item: item[0])
    day_folder = out / f"date={hour_start:%Y-%m-%d}"
    day_folder.mkdir(parents=True, exist_ok=True)
    for part in range(PARTS_PER_HOUR):
        chunk = lines[part::PARTS_PER_HOUR]
        with gzip.open(day_folder / f"hour-{hour_start:%H}-part-{part}.jsonl.gz", "wt", compresslevel=1) as handle:
            handle.writelines(line + "\n" for _, line in chunk)
    return len(lines)


def write_events(out: Path, window: Window, students: int, events_per_student: float, seed: int,
                 workers: int = 2) -> int:
    jobs = [(out, window, hour, students, events_per_student, seed) for hour in range(window.hours)]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(_write_hour, jobs))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the day (default 10,000,000)")
    parser.add_argument("--students", type=int, default=200_000, help="students (default 200,000)")
    parser.add_argument("--day", type=date.fromisoformat, required=True, help="the day, YYYY-MM-DD (UTC)")
    parser.add_argument("--hours", type=int, default=24, help="hours from the day's start (default 24; 1 for an hour)")
    parser.add_argument("--start-hour", type=int, default=0, help="first hour of the window (default 0)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    start = datetime.combine(args.day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=args.start_hour)
    written = write_events(args.out, Window(start, args.hours), args.students, args.events / args.students, args.seed)
    print(f"wrote {written:,} events for {args.students:,} students to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
