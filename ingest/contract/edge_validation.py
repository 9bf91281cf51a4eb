"""Judges one event at the edge (the tracking API) the way the warehouse will.

The rules are the JSON Schema files of contract v1 (ingest/contract/schemas/v1/, written by
`python -m ingest.contract.schemas.build` from the warehouse's SQL and seeds). Every schema whose
failure rejects an event carries `x-rejection-reason`; an invalid event gets the first
reason, in the contract's order (`REJECTION_REASONS`), among all that fail, with a short
detail naming the field and what was expected (never the value sent, which may be
personal data).

What a schema cannot express is checked here, in code:

- Calendar validity of the timestamp. The pattern admits `2026-02-30` or `25:00`; the
  warehouse's cast (DuckDB `try_cast`) refuses them: `bad_timestamp`. The same cast takes a
  few things as they are, so this module does too: `24:00[:00]` is midnight of the next
  day, an offset is any two digits of hours and of minutes (`+99:99`), year 0000 exists
  (and is a leap year), digits past microseconds are dropped, not rounded.
- The range: before 2000-01-01T00:00:00Z, or strictly more than 24 h after `received_at`,
  is `timestamp_out_of_range`. The warehouse compares with the load time instead, which is
  later than receipt, so an event accepted here is never out of range there.
- `validate_line` refuses what orjson refuses (invalid JSON, NaN/Infinity, invalid UTF-8,
  a BOM) as `malformed_json`, and a JSON value that is not an object. Here the edge keeps
  to the contract where the warehouse's JSON reading is laxer or stricter (trailing commas,
  nan/inf, numbers beyond a double, repeated keys, invalid UTF-8, `:NaN,` inside a string):
  see KNOWN_DEVIATIONS in tests/python/test_schema_agreement.py.

Not judged here: duplicates. A valid event whose event_id was seen before is valid at
the edge; the warehouse counts it once, as a duplicate.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import jsonschema_rs
import orjson

from ingest.contract.schemas import (
    ENVELOPE_SCHEMA_FILE,
    EVENT_SCHEMA_FILE,
    REASON_KEYWORD,
    REJECTION_REASONS,
    SCHEMA_DIR,
)


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: str
    detail: str


REASON_RANK = {reason: rank for rank, reason in enumerate(REJECTION_REASONS)}
BAD_TIMESTAMP_RANK = REASON_RANK["bad_timestamp"]
MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)

NOT_AN_OBJECT = Rejection("malformed_json", "the event is not a JSON object")

# The groups of macros/timestamps.sql's iso_timestamp_pattern (the schema's pattern), for
# the calendar check; `[0-9]`, not `\d`, which would take other scripts' digits.
ISO_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]{1,9}))?)?"
    r"(?:[Zz]|(?P<sign>[+-])(?P<offset_hours>[0-9]{2})(?::?(?P<offset_minutes>[0-9]{2}))?)?"
)


# --------------------------------------------------------------------------- the schemas


def _load_schemas() -> dict[str, dict[str, Any]]:
    """Every schema file under its `$id`."""
    schemas = {}
    for path in sorted(SCHEMA_DIR.glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        schemas[schema["$id"]] = schema
    return schemas


def _schema_named(schemas: dict[str, dict[str, Any]], file_name: str) -> dict[str, Any]:
    return next(schema for uri, schema in schemas.items() if uri.endswith("/" + file_name))


SCHEMAS = _load_schemas()
EVENT_SCHEMA = _schema_named(SCHEMAS, EVENT_SCHEMA_FILE)
VALIDATOR = jsonschema_rs.Draft202012Validator(
    EVENT_SCHEMA,
    registry=jsonschema_rs.Registry([(uri, schema) for uri, schema in SCHEMAS.items() if schema is not EVENT_SCHEMA]),
    offline=True,  # every $ref is one of our files; never fetch anything
)


def _timestamp_range_rule() -> dict[str, Any]:
    rules = _schema_named(SCHEMAS, ENVELOPE_SCHEMA_FILE)["properties"]["timestamp"]["allOf"]
    return next(rule for rule in rules if rule.get(REASON_KEYWORD) == "timestamp_out_of_range")


def _epoch_micros(moment: datetime) -> int:
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware - EPOCH) // ONE_MICROSECOND


_RANGE_RULE = _timestamp_range_rule()
NOT_BEFORE_MICROS = _epoch_micros(datetime.fromisoformat(_RANGE_RULE["x-not-before"]))
MAX_FUTURE_MICROS = int(_RANGE_RULE["x-max-hours-after-received"]) * MICROS_PER_HOUR


# --------------------------------------------------------------------------- schema errors


def _walk(pointer: str, root: dict[str, Any]) -> list[Any]:
    """The nodes along a JSON pointer, from `root` to the one it names."""
    nodes: list[Any] = [root]
    for token in pointer.split("/")[1:] if pointer else []:
        token = token.replace("~1", "/").replace("~0", "~")
        node = nodes[-1]
        nodes.append(node[int(token)] if isinstance(node, list) else node[token])
    return nodes


def _rule_at(keyword_location: str, missing_property: str | None) -> tuple[str, str]:
    """(reason, expected) for a failing keyword: the nearest schema around it with a reason.

    A failed `required` is judged like the missing property's own schema when that has a
    reason (a missing event_id fails like a blank one).
    """
    uri, _, fragment = keyword_location.partition("#")
    nodes = _walk(unquote(fragment), SCHEMAS[uri])
    if missing_property is not None:
        own = nodes[-2].get("properties", {}).get(missing_property, {})
        if REASON_KEYWORD in own:
            return own[REASON_KEYWORD], own["description"]
    for node in reversed(nodes[:-1]):
        if isinstance(node, dict) and REASON_KEYWORD in node:
            return node[REASON_KEYWORD], node["description"]
    raise LookupError(f"no {REASON_KEYWORD} around {keyword_location}")


# Failing keyword -> (reason, expected): a handful of locations, looked up once each.
_RULES: dict[tuple[str, str | None], tuple[str, str]] = {}


def _rejection_for(error: jsonschema_rs.ValidationError) -> Rejection:
    kind = error.kind
    missing = kind.property if isinstance(kind, jsonschema_rs.ValidationErrorKind.Required) else None
    location = error.absolute_keyword_location
    if location is None:  # every schema file has an $id, so every keyword has an absolute location
        raise LookupError(f"no keyword location for {error.kind.name} at {error.instance_path}")
    key = (location, missing)
    if key not in _RULES:
        _RULES[key] = _rule_at(location, missing)
    reason, expected = _RULES[key]
    field = ".".join(str(part) for part in error.instance_path)
    if missing is not None:
        field = f"{field}.{missing}" if field else missing
        return Rejection(reason, f"{field}: missing; expected {expected}")
    return Rejection(reason, f"{field or 'event'}: expected {expected}")


def _first_schema_rejection(event: dict[str, Any]) -> Rejection:
    first: Rejection | None = None
    for error in VALIDATOR.iter_errors(event):
        rejection = _rejection_for(error)
        if first is None or REASON_RANK[rejection.reason] < REASON_RANK[first.reason]:
            first = rejection
    if first is None:  # is_valid said no, iter_errors found nothing: a bug in the schemas
        raise RuntimeError("the event schema rejected an event without an error")
    return first


# --------------------------------------------------------------------------- the timestamp


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        # Proleptic Gregorian, year 0 included (DuckDB accepts 0000-02-29).
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 (H. Hinnant's algorithm; valid for year 0 and beyond 9999)."""
    year -= 1 if month <= 2 else 0  # years start in March: the leap day ends them
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _timestamp_micros(text: str) -> int | None:
    """Microseconds since the epoch, in UTC, as DuckDB's cast reads `text`; None if it refuses it."""
    match = ISO_TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    hour, minute, second = int(match["hour"]), int(match["minute"]), int(match["second"] or 0)
    micros = int((match["fraction"] or "0")[:6].ljust(6, "0"))  # truncated, as DuckDB does
    if not (1 <= month <= 12 and 1 <= day <= _days_in_month(year, month)):
        return None
    midnight_next_day = hour == 24 and minute == 0 and second == 0 and micros == 0
    if not (hour < 24 or midnight_next_day) or minute > 59 or second > 59:
        return None
    seconds = ((_days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * 60 + second
    if match["sign"] is not None:
        offset_minutes = int(match["offset_hours"]) * 60 + int(match["offset_minutes"] or 0)
        seconds -= offset_minutes * 60 if match["sign"] == "+" else -offset_minutes * 60
    return seconds * MICROS_PER_SECOND + micros


def _timestamp_rejection(timestamp: str, received_at: datetime) -> Rejection | None:
    micros = _timestamp_micros(timestamp)
    if micros is None:
        return Rejection("bad_timestamp", "timestamp: not a real calendar date and time of day")
    if micros < NOT_BEFORE_MICROS:
        return Rejection("timestamp_out_of_range", f"timestamp: before {_RANGE_RULE['x-not-before']}")
    if micros > _epoch_micros(received_at) + MAX_FUTURE_MICROS:
        hours = _RANGE_RULE["x-max-hours-after-received"]
        return Rejection("timestamp_out_of_range", f"timestamp: more than {hours} h after the event was received")
    return None


# --------------------------------------------------------------------------- the API


def validate_event(value: object, received_at: datetime) -> Rejection | None:
    """None for a valid event, else the first contract reason that rejects it.

    `received_at` is when the edge got the event (naive means UTC).
    """
    if not isinstance(value, dict):
        return NOT_AN_OBJECT
    if VALIDATOR.is_valid(value):
        # The schema has checked the timestamp is ISO 8601 text; only calendar and range remain.
        return _timestamp_rejection(value["timestamp"], received_at)
    rejection = _first_schema_rejection(value)
    if REASON_RANK[rejection.reason] <= BAD_TIMESTAMP_RANK:
        return rejection
    # A later reason (question, quiz, metadata) loses to a timestamp outside the calendar or range.
    timestamp = value.get("timestamp")
    return (_timestamp_rejection(timestamp, received_at) if isinstance(timestamp, str) else None) or rejection


def validate_line(line: bytes, received_at: datetime) -> Rejection | None:
    """`validate_event` for one raw line of JSON text."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        return Rejection("malformed_json", f"not valid JSON: {error.msg} at character {error.pos}")
    return validate_event(value, received_at)
