-- Privacy (events.md, Personal data): outside the raw schema no text column, and no JSON
-- value at any depth, holds its own record's raw student_id or ip (ids of at least 4
-- characters). The raw values are only in raw, so every row is joined back by lineage
-- (source_file and line_number as written outside raw) to raw.stg_raw__events, and to
-- raw.events for the text of lines that are not JSON objects.
-- Checked: the rows of the latest run (see latest_write_predicate) of int_events__validated,
-- the only model outside raw that reads raw's relations (tests/python/test_raw_lineage.py),
-- and of events_rejected and events_duplicates (a few rows each). The rest only derive from
-- validated: the views int_events__enriched and int_events__sessionized and the table
-- events_cleaned hold its texts and a device type of the seed rules; sessions,
-- int_session_chapter_days, gold and features hold copies of those columns (course_id,
-- chapter_id, quiz_id, question_id, device_type), seed text, digests and numbers, so a leak
-- there would show in validated first. Searching events_cleaned too searched every kept
-- event's texts twice (21 s -> 13 s over a 10M-event day); tests/python/test_privacy.py still
-- searches every relation.
-- Returns one row per leaking row: relation, lineage and the columns that hold an id (never
-- the id itself).
{%- set checked_tables = [
    (ref('int_events__validated'), 'processed_at'),
    (ref('events_rejected'), 'processed_at'),
    (ref('events_duplicates'), 'processed_at'),
] %}

with checked_loads as (
    {%- for relation, written_column in checked_tables %}
        select load_id
        from {{ relation }}
        where {{ latest_write_predicate(relation, written_column) }}
        {{- '\n        union distinct' if not loop.last }}
    {%- endfor %}
),

-- The staged table is read once per kind of line, never through a shared CTE: a CTE read
-- twice is materialized whole (10M records at a 10M-event full refresh, which ran this test
-- out of memory next to its join).
parsed_ids as (
    select
        source_file_redacted,
        line_number,
        student_id,
        ip_address
    from {{ ref('stg_raw__events') }}
    where
        is_json_object
        and load_id in (select checked_loads.load_id from checked_loads)
),

-- A line that is not a JSON object (malformed, single-quoted, an array) has no parsed ids:
-- they are read from its text loosely, so that a copy of that text is caught too.
unparsed_ids as (
    select
        staged_records.source_file_redacted,
        staged_records.line_number,
        -- Spelled so that it needs both sides: the test's filter on these values is not pushed
        -- into the scan of raw, which would read every raw line, not the joined ones.
        case
            when not staged_records.is_json_object then {{ loose_json_value('raw_events.raw_line', 'student[-_]?id') }}
        end as student_id,
        case
            when not staged_records.is_json_object then {{ loose_json_value('raw_events.raw_line', 'ip') }}
        end as ip_address
    -- raw on the left: DuckDB builds its hash table from the right side when both are
    -- estimated alike, and the right side is the few staged records that are not objects.
    from {{ source('raw', 'events') }} as raw_events
    inner join {{ ref('stg_raw__events') }} as staged_records
        on
            raw_events._dlt_load_id = staged_records.load_id
            and raw_events.source_file = staged_records.source_file
            and raw_events.line_number = staged_records.line_number
    where
        not staged_records.is_json_object
        and staged_records.load_id in (select checked_loads.load_id from checked_loads)
),

record_ids as (
    select
        source_file_redacted,
        line_number,
        student_id,
        ip_address
    from parsed_ids
    union all
    select
        source_file_redacted,
        line_number,
        student_id,
        ip_address
    from unparsed_ids
),

checked_texts as (
    {%- for relation, written_column in checked_tables %}
        {{ personal_data_texts(relation, written_column) }}
        {{- '\n        union all' if not loop.last }}
    {%- endfor %}
),

-- The ids to look for (events.md: at least 4 characters) are derived after the join, for the
-- checked rows only: an hourly run checks a few hundred thousand rows, but the sessions it
-- rewrote reach back into the day's load, whose every staged record the load filter keeps.
checked_with_owners as (
    select
        checked_texts.relation_name,
        checked_texts.source_file,
        checked_texts.line_number,
        checked_texts.text_names,
        checked_texts.all_texts,
        {{ redaction_target_text('record_ids.student_id') }} as owner_student_id,
        {{ redaction_target_text('record_ids.ip_address') }} as owner_ip
    from checked_texts
    inner join record_ids
        on
            checked_texts.source_file = record_ids.source_file_redacted
            and checked_texts.line_number = record_ids.line_number
)

select
    relation_name,
    source_file,
    line_number,
    {{ text_names_holding('text_names', 'all_texts', 'owner_student_id', 'owner_ip') }} as leaking_columns
from checked_with_owners
where
    strpos(all_texts, owner_student_id) > 0
    or strpos(all_texts, owner_ip) > 0
