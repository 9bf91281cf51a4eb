"""The JSON Schema files of contract v1 and the edge validator, without a warehouse.

The agreement with the warehouse, line by line, is tests/python/test_schema_agreement.py.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import jsonschema_rs
import pytest

from ingest.contract.edge_validation import ISO_TIMESTAMP, Rejection, validate_event, validate_line
from ingest.contract.schemas import REASON_KEYWORD, REJECTION_REASONS, SCHEMA_DIR
from ingest.contract.schemas.build import EXTRA_UPPERCASE, TRIMMED_CLASS, build_files

RECEIVED_AT = datetime(2025, 11, 15, 12, 0, tzinfo=UTC)
ASSERTION_KEYWORDS = {"type", "pattern", "not", "minimum", "maximum", "exclusiveMinimum", "maxLength", "required"}
PERSONAL = "s-secret-student-4711"


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": "e-1", "student_id": PERSONAL, "event_type": "page_view", "timestamp": "2025-11-15T08:31:12.250Z",
        "metadata": {"scroll_depth": 0.8, "duration_seconds": 95}, "context": {"ip": "203.0.113.99"},
    }
    for key, value in changes.items():
        if value is None and key.endswith("_absent"):
            base.pop(key.removesuffix("_absent"))
        else:
            base[key] = value
    return base


def quiz(**changes: Any) -> dict[str, Any]:
    return event(**{"event_type": "quiz_attempt", "question_id": "q1", "metadata": {"quiz_id": "quiz1"}, **changes})


def reason(value: object, received_at: datetime = RECEIVED_AT) -> str | None:
    rejection = validate_event(value, received_at)
    return None if rejection is None else rejection.reason


# --------------------------------------------------------------------------- the files


def test_the_checked_in_schemas_are_the_generators_output() -> None:
    on_disk = {path.name: path.read_text(encoding="utf-8") for path in SCHEMA_DIR.glob("*.schema.json")}
    assert on_disk == build_files(), "run `python -m ingest.contract.schemas.build` and commit the result"


@pytest.mark.parametrize("name", sorted(build_files()))
def test_every_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / name).read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema_rs.meta.validate(schema)


def _unexplained_assertions(node: Any, pointer: str, inherited: bool) -> list[str]:
    """Assertions with no x-rejection-reason on them or around them. The document root's
    reason (malformed_json) covers only its own `type`; `if` and `$defs` (read by `if`) and
    `not` (reported where it stands) never fail on their own."""
    if isinstance(node, list):
        return [found for index, item in enumerate(node)
                for found in _unexplained_assertions(item, f"{pointer}/{index}", inherited)]
    if not isinstance(node, dict):
        return []
    explained = inherited or REASON_KEYWORD in node
    found = [] if explained or not (ASSERTION_KEYWORDS - {"required"}) & node.keys() else [pointer]
    covers_children = explained and pointer != "#"
    for name in node.get("required", []):
        if not covers_children and REASON_KEYWORD not in node.get("properties", {}).get(name, {}):
            found.append(f"{pointer}/required/{name}")
    for key, child in node.items():
        if key not in ("$defs", "if", "not"):
            found += _unexplained_assertions(child, f"{pointer}/{key}", covers_children)
    return found


@pytest.mark.parametrize("name", sorted(build_files()))
def test_every_assertion_maps_to_a_reason_code(name: str) -> None:
    schema = json.loads((SCHEMA_DIR / name).read_text())
    assert _unexplained_assertions(schema, "#", inherited=False) == []
    reasons = {node[REASON_KEYWORD] for node in _annotated_nodes(schema)}
    assert reasons <= set(REJECTION_REASONS)


def _annotated_nodes(node: Any) -> list[dict[str, Any]]:
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    own = [node] if isinstance(node, dict) and REASON_KEYWORD in node else []
    return own + [found for child in children for found in _annotated_nodes(child)]


def test_the_alias_classes_hold_every_character_duckdb_lowers_or_trims() -> None:
    """build.py's character classes against DuckDB itself: lower() and trim() over all of Unicode."""
    with duckdb.connect() as connection:
        lowered = dict(connection.execute(
            "select lower(chr(cp::int)), chr(cp::int) from (select * from range(128, 55296) "
            "union all select * from range(57344, 1114112)) t(cp) "
            "where regexp_full_match(lower(chr(cp::int)), '[a-z]')").fetchall())
        trimmed = {char for (char,) in connection.execute(
            "select chr(cp::int) "
            "from (select * from range(1, 55296) union all select * from range(57344, 1114112)) t(cp) "
            "where trim(chr(cp::int) || 'a' || chr(cp::int)) = 'a'").fetchall()}
    assert lowered == EXTRA_UPPERCASE
    assert trimmed == {chr(cp) for cp in range(0x110000) if _in_class(chr(cp), TRIMMED_CLASS)}


def _in_class(char: str, character_class: str) -> bool:
    return re.fullmatch(character_class, char) is not None


@pytest.mark.parametrize("text", [
    "2025-11-15T08:31", "2025-11-15t08:31:12z", "2025-11-15 08:31:12,5+02", "2025-11-15T08:31:12.123456789-0230",
    "2025-11-15T08:31:12.1234567890Z", "2025-11-15T08:31:12+2", "2025-11-15T08:31:12+02:0", "2025-11-15T08:31:12.Z",
    "2025-11-15", "2025-11-15T08:31:12Z\n", " 2025-11-15T08:31Z", "\uff12025-11-15T08:31",
    "2025-11-15T08:31:12+02:00:00",
])
def test_the_calendar_check_matches_the_same_texts_as_the_schema(text: str) -> None:
    """edge_validation's named groups accept exactly the texts of the schema's pattern."""
    envelope = json.loads((SCHEMA_DIR / "envelope.schema.json").read_text())
    pattern = next(rule["pattern"] for rule in envelope["properties"]["timestamp"]["allOf"] if "pattern" in rule)
    assert (ISO_TIMESTAMP.fullmatch(text) is not None) == (re.search(pattern.replace("$", r"\Z"), text) is not None)


# --------------------------------------------------------------------------- verdicts

CASES: list[tuple[str, object, str | None]] = [
    ("valid page_view", event(), None),
    ("valid quiz_attempt", quiz(), None),
    ("unknown metadata keys are kept", event(metadata={"nope": [1], "scroll_depth": None}), None),
    ("keys of other event types are not checked", event(metadata={"quiz_id": 5, "on_time": "yes"}), None),
    ("a list", [event()], "malformed_json"),
    ("a string", "page_view", "malformed_json"),
    ("a number", 42, "malformed_json"),
    ("no event_id", event(event_id_absent=None), "missing_event_id"),
    ("event_id of 65 characters", event(event_id="x" * 65), "missing_event_id"),
    ("event_id of 64 characters", event(event_id="x" * 64), None),
    ("numeric event_id", event(event_id=7), "missing_event_id"),
    ("blank event_id", event(event_id=" \t\r\n"), "missing_event_id"),
    ("no-break space is not blank", event(event_id="\u00a0"), None),
    ("blank student_id", event(student_id=""), "missing_student_id"),
    ("null event_type", event(event_type=None), "missing_event_type"),
    ("blank event_type", event(event_type="  "), "missing_event_type"),
    ("numeric event_type", event(event_type=3), "unknown_event_type"),
    ("alias, odd case and spacing", event(event_type="\u3000 Page-VIEW "), None),
    ("alias with a Kelvin sign", quiz(event_type="PROBLEM_CHEC\u212a"), None),
    ("alias with a tab around", event(event_type="\tpage_view"), "unknown_event_type"),
    ("unknown event type", event(event_type="hover"), "unknown_event_type"),
    ("missing timestamp", event(timestamp_absent=None), "missing_timestamp"),
    ("blank timestamp", event(timestamp="\t"), "missing_timestamp"),
    ("epoch number", event(timestamp=1731659472), "bad_timestamp"),
    ("date only", event(timestamp="2025-11-15"), "bad_timestamp"),
    ("30 February", event(timestamp="2025-02-30T00:00:00Z"), "bad_timestamp"),
    ("29 February 1900", event(timestamp="1900-02-29T00:00:00Z"), "bad_timestamp"),
    ("29 February 2024", event(timestamp="2024-02-29T00:00:00+02"), None),
    ("24:00 is the next midnight", event(timestamp="2025-11-14T24:00"), None),
    ("24:00:01", event(timestamp="2025-11-14T24:00:01"), "bad_timestamp"),
    ("second 60", event(timestamp="2025-11-14T10:00:60Z"), "bad_timestamp"),
    ("comma fraction, compact offset", event(timestamp="2025-11-15 08:31:12,123456789+0200"), None),
    ("before 2000 by its offset", event(timestamp="2000-01-01T00:30:00+01:00"), "timestamp_out_of_range"),
    ("2000 by its offset", event(timestamp="1999-12-31T23:30:00-01:00"), None),
    ("year 0000", event(timestamp="0000-02-29T00:00:00Z"), "timestamp_out_of_range"),
    ("exactly 24 h ahead", event(timestamp="2025-11-16T12:00:00Z"), None),
    ("24 h and 1 µs ahead", event(timestamp="2025-11-16T12:00:00.000001Z"), "timestamp_out_of_range"),
    ("24 h ahead, naive", event(timestamp="2025-11-16 12:00:00.0000009"), None),
    ("quiz without question_id", quiz(question_id_absent=None), "missing_question_id"),
    ("numeric question_id is text", quiz(question_id=12), None),
    ("quiz with metadata null", quiz(metadata=None), "missing_quiz_id"),
    ("quiz with metadata a list", quiz(metadata=[]), "missing_quiz_id"),
    ("quiz with blank quiz_id", quiz(metadata={"quiz_id": " "}), "missing_quiz_id"),
    ("quiz with numeric quiz_id", quiz(metadata={"quiz_id": 3}), "bad_metadata"),
    ("attempt_number 2.0", quiz(metadata={"quiz_id": "q", "attempt_number": 2.0}), None),
    ("attempt_number 1.5", quiz(metadata={"quiz_id": "q", "attempt_number": 1.5}), "bad_metadata"),
    ("metadata a string", event(metadata="x"), "bad_metadata"),
    ("scroll_depth 100", event(metadata={"scroll_depth": 100}), None),
    ("scroll_depth above 100", event(metadata={"scroll_depth": 100.5}), "bad_metadata"),
    ("video_duration_seconds 0", event(event_type="video_end", metadata={"video_duration_seconds": 0}), "bad_metadata"),
    ("on_time as text", event(event_type="assignment-submitted", metadata={"on_time": "true"}), "bad_metadata"),
    ("the first reason wins", quiz(student_id=None, timestamp="x", question_id=None), "missing_student_id"),
    ("calendar before question", quiz(timestamp="2025-02-30T00:00Z", question_id=None), "bad_timestamp"),
    ("range before metadata", event(timestamp="1999-01-01T00:00Z", metadata=[]), "timestamp_out_of_range"),
]


@pytest.mark.parametrize(("value", "expected"), [(value, expected) for _, value, expected in CASES],
                         ids=[name for name, _, _ in CASES])
def test_the_first_reason_in_contract_order(value: object, expected: str | None) -> None:
    assert reason(value) == expected


def test_a_naive_received_at_is_utc() -> None:
    assert reason(event(timestamp="2025-11-16T12:00:01Z"), RECEIVED_AT.replace(tzinfo=None)) == "timestamp_out_of_range"


@pytest.mark.parametrize(("line", "expected"), [
    (b"", "malformed_json"), (b"[1]", "malformed_json"), (b'{"a": NaN}', "malformed_json"),
    (b'{"a": 1,}', "malformed_json"), (b"\xef\xbb\xbf{}", "malformed_json"), (b'{"a": "\xff"}', "malformed_json"),
    (json.dumps(event()).encode(), None), (b"\t" + json.dumps(event()).encode() + b" \r", None),
])
def test_lines(line: bytes, expected: str | None) -> None:
    rejection = validate_line(line, RECEIVED_AT)
    assert (None if rejection is None else rejection.reason) == expected


def test_details_name_the_field_but_never_personal_values() -> None:
    cases = [event(student_id=PERSONAL + " ", event_type="nope"), event(student_id=[PERSONAL]),
             event(context={"ip": "203.0.113.99"}, metadata={"scroll_depth": PERSONAL})]
    for value in cases:
        rejection = validate_event(value, RECEIVED_AT)
        assert isinstance(rejection, Rejection)
        assert PERSONAL not in rejection.detail and "203.0.113.99" not in rejection.detail
    detail = validate_event(event(metadata={"scroll_depth": 250}), RECEIVED_AT)
    assert detail == Rejection("bad_metadata", "metadata.scroll_depth: expected a number from 0 to 100 or null "
                                               "(above 1 it is a percentage)")
    assert validate_event(event(event_id_absent=None), RECEIVED_AT).detail.startswith("event_id: missing")  # type: ignore[union-attr]


def test_a_future_bound_follows_received_at() -> None:
    late = RECEIVED_AT + timedelta(days=3)
    assert reason(event(timestamp="2025-11-17T00:00:00Z"), RECEIVED_AT) == "timestamp_out_of_range"
    assert reason(event(timestamp="2025-11-17T00:00:00Z"), late) is None
