-- Privacy (events.md, Personal data): outside the raw schema no text column, and no JSON
-- value at any depth, holds its own record's raw student_id or ip (ids of at least 4
-- characters). The raw values are only in raw, so every row is joined back by lineage
-- (source_file and line_number as written outside raw) to raw.stg_raw__events.
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

owners as (
    select
        source_file_redacted as source_file,
        line_number,
        {{ redaction_target_text('student_id') }} as student_id,
        {{ redaction_target_text('ip_address') }} as ip
    from {{ ref('stg_raw__events') }}
    where
        load_id in (select checked_loads.load_id from checked_loads)
        and (
            {{ redaction_target_text('student_id') }} is not null
            or {{ redaction_target_text('ip_address') }} is not null
        )
),

{%- for relation, written_column in checked %}

{{ relation.identifier }}_leaks as (
    {{ personal_data_leaks(relation, written_column) }}
){{ ',' if not loop.last }}
{%- endfor %}

{%- for relation, _ in checked %}
select * from {{ relation.identifier }}_leaks
{{- '\nunion all' if not loop.last }}
{%- endfor %}
