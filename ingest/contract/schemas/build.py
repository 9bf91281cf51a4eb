"""Writes the JSON Schema files of event contract v1 (ingest/contract/schemas/v1/) from the
warehouse's own rules, so the edge and the warehouse cannot drift apart silently.

    python -m ingest.contract.schemas.build      # rewrites ingest/contract/schemas/v1/*.schema.json

The warehouse is the reference (models/staging/raw/stg_raw__events.sql and
macros/rejection_reason.sql); where its choices go beyond events.md they are the ones
documented on int_events__validated. What is read from the project, not copied:

- event type aliases: seeds/event_type_aliases.csv. The warehouse matches
  replace(replace(lower(trim(x)), '-', '_'), ' ', '_') against the seed; JSON Schema
  regexes are ECMA-262 without an inline (?i), so every alias becomes a pattern of
  character classes (`[Pp][Aa][Gg][Ee][-_ ][Vv]...`) between optional Unicode space
  separators (what DuckDB's trim() strips: not tabs or newlines, but U+00A0, U+3000...).
- the ISO 8601 pattern: `iso_timestamp_pattern` in macros/timestamps.sql.
- the future bound: the dbt var `max_future_hours` in dbt_project.yml.

Every schema whose failure rejects an event carries `x-rejection-reason` (the contract
reason code) and a `description` worded to complete "expected ...".
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ingest.contract.schemas import (
    BASE_URI,
    ENVELOPE_SCHEMA_FILE,
    EVENT_SCHEMA_FILE,
    REASON_KEYWORD,
    REJECTION_REASONS,
    SCHEMA_DIR,
)
from ingest.settings import PROJECT_DIR

Schema = dict[str, Any]

ALIASES_SEED = PROJECT_DIR / "seeds" / "event_type_aliases.csv"
TIMESTAMP_MACROS = PROJECT_DIR / "macros" / "timestamps.sql"
DBT_PROJECT = PROJECT_DIR / "dbt_project.yml"

DRAFT = "https://json-schema.org/draft/2020-12/schema"
# macros/is_blank.sql: blank is empty or only space, tab, LF, CR (not other Unicode spaces).
NON_BLANK = r"[^ \t\n\r]"
# The lower bound is a literal in macros/rejection_reason.sql.
NOT_BEFORE = "2000-01-01T00:00:00Z"
# Code points other than A-Z whose lower() in DuckDB (utf8proc's simple case mapping) is an
# ASCII letter: `lower('SİGN_İN') = 'sign_in'`, `lower('CHEC\u212a') = 'check'` (Kelvin sign).
# Checked against DuckDB by tests/python/test_edge_validation.py.
EXTRA_UPPERCASE = {"i": "\u0130", "k": "\u212a"}
# The characters the SQL maps to '_' before matching, plus '_' itself.
UNDERSCORE_CLASS = "[-_ ]"
# What DuckDB's one-argument trim() strips: the Unicode space separators (category Zs),
# not tabs or line breaks. Checked against DuckDB by tests/python/test_edge_validation.py.
TRIMMED_CLASS = "[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
# RE2 syntax that reads the same in ECMA-262: classes, groups, alternation, quantifiers.
PORTABLE_REGEX = re.compile(r"[0-9A-Za-z\[\]\-(){}|?:.,+ ]*")

VIDEO_EVENT_TYPES = ("video_play", "video_pause", "video_progress", "video_complete")
CANONICAL_EVENT_TYPES = (
    "page_view", *VIDEO_EVENT_TYPES, "quiz_attempt", "submit_assignment", "login", "logout",
)


# --------------------------------------------------------------------------- project rules


def read_aliases(seed: Path = ALIASES_SEED) -> dict[str, list[str]]:
    """Canonical event type -> its aliases in seed order (the canonical name is one of them)."""
    aliases: dict[str, list[str]] = {event_type: [] for event_type in CANONICAL_EVENT_TYPES}
    with seed.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            alias, event_type = row["alias"], row["event_type"]
            if event_type not in aliases:
                raise ValueError(f"{seed}: {event_type!r} is not a canonical event type")
            if not re.fullmatch(r"[a-z0-9_]+", alias):
                # The SQL compares the normalized text with the alias: any other alias never matches.
                raise ValueError(f"{seed}: alias {alias!r} is not normalized (lowercase, '_' for '-' and ' ')")
            aliases[event_type].append(alias)
    missing = [event_type for event_type, names in aliases.items() if event_type not in names]
    if missing:
        raise ValueError(f"{seed}: canonical types without their own alias row: {missing}")
    return aliases


def iso_timestamp_pattern(macros: Path = TIMESTAMP_MACROS) -> str:
    """The RE2 pattern of `iso_timestamp_pattern()`, which the warehouse fully matches."""
    found = re.search(r"macro iso_timestamp_pattern\(\).*?return\(\"([^\"]+)\"\)", macros.read_text(), re.S)
    if found is None:
        raise ValueError(f"{macros}: iso_timestamp_pattern() not found")
    pattern = found.group(1)
    if not PORTABLE_REGEX.fullmatch(pattern):
        raise ValueError(f"{macros}: iso_timestamp_pattern() uses syntax that may differ in ECMA-262")
    return pattern


def max_future_hours(project: Path = DBT_PROJECT) -> int:
    return int(yaml.safe_load(project.read_text())["vars"]["max_future_hours"])


# --------------------------------------------------------------------------- patterns


def letter_class(char: str) -> str:
    """A character class matching every character the SQL normalizes to `char`."""
    if char == "_":
        return UNDERSCORE_CLASS
    if char.isdigit():
        return char
    return f"[{char.upper()}{char}{EXTRA_UPPERCASE.get(char, '')}]"


def alias_pattern(aliases: Iterable[str]) -> str:
    """Matches exactly the texts whose normalized form is one of `aliases`."""
    alternatives = "|".join("".join(letter_class(char) for char in alias) for alias in aliases)
    return f"^{TRIMMED_CLASS}*(?:{alternatives}){TRIMMED_CLASS}*$"


# --------------------------------------------------------------------------- schema parts


def rule(reason: str, description: str, **keywords: Any) -> Schema:
    """A schema whose failure rejects the event with `reason`."""
    if reason not in REJECTION_REASONS:
        raise ValueError(f"unknown reason code {reason!r}")
    return {REASON_KEYWORD: reason, "description": description, **keywords}


def document(file_name: str, title: str, description: str, **keywords: Any) -> Schema:
    return {"$schema": DRAFT, "$id": BASE_URI + file_name, "title": title, "description": description,
            **keywords}


def number_rule(description: str, **bounds: float) -> Schema:
    # JSON null counts as absent (int_events__validated).
    return rule("bad_metadata", description, type=["number", "null"], **bounds)


def typed_rule(json_type: str, description: str) -> Schema:
    return rule("bad_metadata", description, type=[json_type, "null"])


def free_field(description: str) -> Schema:
    """A field the warehouse never rejects an event for."""
    return {"description": description}


def type_file(event_type: str) -> str:
    return f"{event_type}.schema.json"


def envelope_schema(all_aliases: list[str], timestamp_pattern: str, future_hours: int) -> Schema:
    return document(
        ENVELOPE_SCHEMA_FILE,
        "Event envelope, contract v1",
        "The fields every event carries, whatever its type (events.md, 'One event'). "
        "Other top-level keys are allowed and ignored.",
        **{REASON_KEYWORD: "malformed_json"},
        type="object",
        required=["event_id", "student_id", "event_type", "timestamp"],
        properties={
            "event_id": rule(
                "missing_event_id", "a non-blank string of at most 64 characters (the idempotency key)",
                type="string", maxLength=64, pattern=NON_BLANK),
            "student_id": rule(
                "missing_student_id", "a non-blank string (personal data, hashed in the warehouse)",
                type="string", pattern=NON_BLANK),
            "event_type": rule(
                "missing_event_type", "a value that is not null and, as text, not blank",
                **{"not": {"type": "null"}}, pattern=NON_BLANK,
                allOf=[rule(
                    "unknown_event_type",
                    "a canonical event type or a known alias (seeds/event_type_aliases.csv), "
                    "compared in lower case with '-' and ' ' read as '_', surrounding Unicode spaces ignored",
                    type="string", pattern=alias_pattern(all_aliases))]),
            "timestamp": rule(
                "missing_timestamp", "a value that is not null and, as text, not blank",
                **{"not": {"type": "null"}}, pattern=NON_BLANK,
                allOf=[
                    rule("bad_timestamp",
                         "ISO 8601 text: date, 'T' or ' ', hh:mm[:ss[.fraction]], then 'Z', "
                         "+hh:mm, +hhmm, +hh or no offset (UTC); also a real calendar date and time "
                         "(checked in code)",
                         type="string", pattern=f"^(?:{timestamp_pattern})$"),
                    rule("timestamp_out_of_range",
                         f"not before {NOT_BEFORE} and at most {future_hours} hours after the event is "
                         "received (checked in code: a schema cannot see the time of receipt)",
                         **{"x-not-before": NOT_BEFORE, "x-max-hours-after-received": future_hours}),
                ]),
            "page_url": free_field("optional; any JSON value is kept (non-strings as JSON text)"),
            "course_id": free_field("optional; any JSON value is kept (non-strings as JSON text)"),
            "chapter_id": free_field("optional; any JSON value is kept (non-strings as JSON text)"),
            "question_id": free_field("optional; required for quiz_attempt (see quiz_attempt.schema.json)"),
            "metadata": rule(
                "bad_metadata", "an object or null; its keys are checked per event type, unknown keys kept",
                type=["object", "null"]),
            "context": free_field(
                "optional: user_agent, ip (personal data), platform, app_version, device_type; "
                "never a reason to reject (a non-object context is ignored)"),
        },
    )


# Upper bounds the contract leaves open (rejection_reason.sql): a duration over 1e9 s (31
# years) is no measurement, and sums of such values would overflow the exact decimal sums of
# the gold models; an attempt number must fit a 32-bit integer column.
MAX_SECONDS = 1_000_000_000
MAX_ATTEMPT_NUMBER = 2_147_483_647
SECONDS_RULE = f"a number from 0 to {MAX_SECONDS:,} or null"


def metadata_rules(event_type: str) -> dict[str, Schema]:
    """The metadata keys an event type uses (events.md), as checked by rejection_reason.sql."""
    if event_type == "page_view":
        return {
            "scroll_depth": number_rule(
                "a number from 0 to 100 or null (above 1 it is a percentage)", minimum=0, maximum=100),
            "duration_seconds": number_rule(SECONDS_RULE, minimum=0, maximum=MAX_SECONDS),
        }
    if event_type in VIDEO_EVENT_TYPES:
        return {
            "video_id": typed_rule("string", "a string or null"),
            "watched_seconds": number_rule(SECONDS_RULE, minimum=0, maximum=MAX_SECONDS),
            "video_duration_seconds": number_rule(f"a number > 0 and <= {MAX_SECONDS:,} or null",
                                                  exclusiveMinimum=0, maximum=MAX_SECONDS),
            "position_seconds": number_rule(SECONDS_RULE, minimum=0, maximum=MAX_SECONDS),
        }
    if event_type == "quiz_attempt":
        return {
            "is_correct": typed_rule("boolean", "a boolean or null"),
            "selected_option": free_field("optional, any JSON value"),
            "time_spent_seconds": number_rule(SECONDS_RULE, minimum=0, maximum=MAX_SECONDS),
            "attempt_number": rule("bad_metadata", f"a whole number from 1 to {MAX_ATTEMPT_NUMBER:,} or null",
                                   type=["integer", "null"], minimum=1, maximum=MAX_ATTEMPT_NUMBER),
        }
    if event_type == "submit_assignment":
        return {
            "assignment_id": typed_rule("string", "a string or null"),
            "on_time": typed_rule("boolean", "a boolean or null"),
        }
    return {}


def quiz_metadata(rules: dict[str, Schema]) -> Schema:
    """quiz_attempt's metadata must exist and name a quiz; missing_quiz_id comes before bad_metadata."""
    quiz_id = rule(
        "missing_quiz_id", "a quiz_id that is not null and, as text, not blank",
        **{"not": {"type": "null"}}, pattern=NON_BLANK,
        allOf=[rule("bad_metadata", "a string", type="string")])
    return rule("missing_quiz_id", "an object with a non-blank quiz_id",
                type="object", required=["quiz_id"], properties={"quiz_id": quiz_id, **rules})


def event_type_schema(event_type: str, aliases: list[str]) -> Schema:
    rules = metadata_rules(event_type)
    spelled = ", ".join(aliases)
    keywords: Schema = {"$defs": {"event_type": {
        "description": f"{event_type} as sent: one of {spelled}, in any case, '-' or ' ' for '_', "
                       "surrounding Unicode spaces ignored",
        "type": "string", "pattern": alias_pattern(aliases)}}}
    if event_type == "quiz_attempt":
        keywords["required"] = ["question_id", "metadata"]
        keywords["properties"] = {
            "question_id": rule("missing_question_id", "a value that is not null and, as text, not blank",
                                **{"not": {"type": "null"}}, pattern=NON_BLANK),
            "metadata": quiz_metadata(rules),
        }
    elif rules:
        keywords["properties"] = {"metadata": rule(
            "bad_metadata", "an object whose known keys have the right type and range",
            properties=rules)}
    description = (f"The rules of a {event_type} event beyond the envelope: the metadata keys it uses. "
                   "Keys of other event types and unknown keys are not checked.")
    if not rules:
        description = f"A {event_type} event uses no metadata keys: nothing beyond the envelope."
    return document(type_file(event_type), f"{event_type} event, contract v1", description, **keywords)


def event_schema() -> Schema:
    def branch(event_type: str) -> Schema:
        return {
            "if": {"required": ["event_type"],
                   "properties": {"event_type": {"$ref": f"{type_file(event_type)}#/$defs/event_type"}}},
            "then": {"$ref": type_file(event_type)},
        }

    return document(
        EVENT_SCHEMA_FILE,
        "Learning event, contract v1",
        "One event as sent by an LMS frontend, mobile SDK or producer (events.md). Validate with "
        "this schema; an invalid event is rejected with the first x-rejection-reason that fails, "
        f"in the contract's order: {', '.join(REJECTION_REASONS)}. Not in the schema: calendar "
        "validity and range of the timestamp (ingest/contract/edge_validation.py) and duplicates.",
        allOf=[{"$ref": ENVELOPE_SCHEMA_FILE}, *(branch(event_type) for event_type in CANONICAL_EVENT_TYPES)],
    )


# --------------------------------------------------------------------------- files


def render(schema: Schema) -> str:
    # ASCII output keeps the non-ASCII letters of the alias classes visible as \u escapes.
    return json.dumps(schema, indent=2, ensure_ascii=True) + "\n"


def build_files() -> dict[str, str]:
    """File name -> text of every schema file, deterministically."""
    aliases = read_aliases()
    all_aliases = [alias for names in aliases.values() for alias in names]
    files = {ENVELOPE_SCHEMA_FILE: render(envelope_schema(all_aliases, iso_timestamp_pattern(), max_future_hours()))}
    for event_type in CANONICAL_EVENT_TYPES:
        files[type_file(event_type)] = render(event_type_schema(event_type, aliases[event_type]))
    files[EVENT_SCHEMA_FILE] = render(event_schema())
    return files


def write_files(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = build_files()
    for stale in directory.glob("*.schema.json"):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in files.items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    for path in write_files():
        print(path.relative_to(PROJECT_DIR))


if __name__ == "__main__":
    main()
