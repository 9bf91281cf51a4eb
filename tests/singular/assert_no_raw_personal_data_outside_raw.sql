-- Privacy (events.md, Personal data): outside the raw schema no text column, and no JSON
-- value at any depth, holds its own record's raw student_id or ip (ids of at least 4
-- characters). The raw values are only in raw, so every row is joined back by lineage
-- (source_file and line_number as written outside raw) to raw.stg_raw__events, and to
-- raw.events for the text of lines that are not JSON objects.
-- Checked: every relation that has lineage, the rows of the latest run (see
-- latest_write_predicate). The others (sessions, gold, features) hold only copies of
-- checked columns (course_id, chapter_id, quiz_id, question_id, device_type), seed text,
-- digests and numbers, so a leak there would show in events_cleaned first.
-- Returns one row per leaking row: relation, lineage and the columns that hold an id.
{%- set checked = [
    (ref('int_events__validated'), 'processed_at'),
    (ref('int_events__enriched'), 'processed_at'),
    (ref('events_cleaned'), 'updated_at'),
    (ref('events_rejected'), 'processed_at'),
    (ref('events_duplicates'), 'processed_at'),
] %}

with checked_loads as (
    {%- for relation, written_column in checked %}
        select load_id
        from {{ relation }}
        where {{ latest_write_predicate(relation, written_column) }}
        {{- '\n        union distinct' if not loop.last }}
    {%- endfor %}
),

staged_records as (
    select
        source_file,
        source_file_redacted,
        line_number,
        is_json_object,
        student_id,
        ip_address
    from {{ ref('stg_raw__events') }}
    where load_id in (select checked_loads.load_id from checked_loads)
),

-- A line that is not a JSON object (malformed, single-quoted, an array) has no parsed ids:
-- they are read from its text loosely, so that a copy of that text is caught too.
unparsed_ids as (
    select
        staged_records.source_file_redacted,
        staged_records.line_number,
        {{ loose_json_value('raw_events.raw_line', 'student[-_]?id') }} as student_id,
        {{ loose_json_value('raw_events.raw_line', 'ip') }} as ip_address
    from staged_records
    inner join {{ source('raw', 'events') }} as raw_events
        on
            staged_records.source_file = raw_events.source_file
            and staged_records.line_number = raw_events.line_number
    where not staged_records.is_json_object
),

record_ids as (
    select
        source_file_redacted,
        line_number,
        student_id,
        ip_address
    from staged_records
    where is_json_object
    union all
    select
        source_file_redacted,
        line_number,
        student_id,
        ip_address
    from unparsed_ids
),

owners as (
    select
        source_file_redacted as source_file,
        line_number,
        {{ redaction_target_text('student_id') }} as student_id,
        {{ redaction_target_text('ip_address') }} as ip
    from record_ids
    where
        {{ redaction_target_text('student_id') }} is not null
        or {{ redaction_target_text('ip_address') }} is not null
),

validated_leaks as (
    {{ personal_data_leaks(ref('int_events__validated'), 'processed_at') }}
),

enriched_leaks as (
    {{ personal_data_leaks(ref('int_events__enriched'), 'processed_at') }}
),

cleaned_leaks as (
    {{ personal_data_leaks(ref('events_cleaned'), 'updated_at') }}
),

rejected_leaks as (
    {{ personal_data_leaks(ref('events_rejected'), 'processed_at') }}
),

duplicate_leaks as (
    {{ personal_data_leaks(ref('events_duplicates'), 'processed_at') }}
)

select * from validated_leaks
union all
select * from enriched_leaks
union all
select * from cleaned_leaks
union all
select * from rejected_leaks
union all
select * from duplicate_leaks
