"""Events for the API tests: valid ones stamped now, and one of each kind of mistake."""

from __future__ import annotations

from datetime import UTC, datetime


def valid_event(event_id: str, student: str = "s-1") -> dict[str, object]:
    return {
        "event_id": event_id, "student_id": student, "event_type": "page_view",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "page_url": "https://lms.example.org/courses/alg1/ch3", "course_id": "alg1", "chapter_id": "ch3",
        "metadata": {"scroll_depth": 0.5, "duration_seconds": 12},
        "context": {"user_agent": "Mozilla/5.0", "ip": "203.0.113.7", "platform": "web"},
    }


def invalid_events() -> list[tuple[dict[str, object], str]]:
    """(event, the contract reason it must get)."""
    base = valid_event("bad-0")
    return [
        ({k: v for k, v in base.items() if k != "event_id"}, "missing_event_id"),
        ({**base, "event_id": "bad-1", "student_id": "  "}, "missing_student_id"),
        ({**base, "event_id": "bad-2", "event_type": "hover"}, "unknown_event_type"),
        ({**base, "event_id": "bad-3", "timestamp": "yesterday"}, "bad_timestamp"),
        ({**base, "event_id": "bad-4", "timestamp": "1999-12-31T23:59:59Z"}, "timestamp_out_of_range"),
        ({**base, "event_id": "bad-5", "event_type": "quiz_attempt", "metadata": {"quiz_id": "q1"}},
         "missing_question_id"),
        ({**base, "event_id": "bad-6", "metadata": {"scroll_depth": 250}}, "bad_metadata"),
    ]
