"""Event contract v1 as JSON Schema (draft 2020-12): the files under `v1/`, written by
`python -m ingest.contract.schemas.build` from the warehouse's own rules, and read by
`ingest.contract.edge_validation`."""

from __future__ import annotations

from pathlib import Path

SCHEMA_VERSION = "v1"
SCHEMA_DIR = Path(__file__).resolve().parent / SCHEMA_VERSION
BASE_URI = f"https://schemas.student-behavior-elt.org/events/{SCHEMA_VERSION}/"
EVENT_SCHEMA_FILE = "event.schema.json"
ENVELOPE_SCHEMA_FILE = "envelope.schema.json"

# The custom annotation on every schema whose failure rejects an event: the reason code.
REASON_KEYWORD = "x-rejection-reason"

# The contract's reason codes (events.md), in the order they are tried: a rejected record
# carries the first one that applies.
REJECTION_REASONS: tuple[str, ...] = (
    "malformed_json",
    "missing_event_id",
    "missing_student_id",
    "missing_event_type",
    "unknown_event_type",
    "missing_timestamp",
    "bad_timestamp",
    "timestamp_out_of_range",
    "missing_question_id",
    "missing_quiz_id",
    "bad_metadata",
)
