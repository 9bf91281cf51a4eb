{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

{#- Parses each raw line once and types its fields; no contract rule is applied here, so
    every raw record stays one row. The student id is hashed at once; the raw IP stays in
    this model (which lives in the raw schema) only until enrichment turns it into a country.
    A table, not a view: parsing JSON is the most expensive step of the pipeline, and the
    validation reads its result twice; incremental (append) by dlt load, so every raw line
    is parsed exactly once. The raw text is not copied (writing it again cost a third of this
    model's time): validation joins it back for the rejected records only.
    Personal data (events.md): validation redacts every text that leaves the raw schema;
    this model, which still sees the raw line, says once per line which records need it
    (needs_redaction: a field may hold the record's own student_id or ip;
    metadata_needs_redaction: so does the metadata, or it has a personal key), and gives
    event_id and source_file their redacted forms, which stay unique keys (macros in
    redact_personal_data.sql). The raw event_id and source_file stay too: the duplicate rule
    and the lineage into raw.events use them. -#}
{%- set event_keys = [
    'event_id', 'student_id', 'event_type', 'timestamp', 'page_url', 'course_id',
    'chapter_id', 'question_id', 'metadata', 'context',
] -%}
{%- set metadata_keys = [
    'scroll_depth', 'duration_seconds', 'video_id', 'watched_seconds',
    'video_duration_seconds', 'position_seconds', 'quiz_id', 'is_correct',
    'selected_option', 'time_spent_seconds', 'attempt_number', 'assignment_id', 'on_time',
] -%}
{%- set context_keys = ['user_agent', 'ip', 'platform', 'app_version', 'device_type'] %}
{%- set new_load_ids = unprocessed_load_ids() %}
-- Fields are read from parsed structs (`doc.event_id`), which sqlfluff takes for table references.
-- noqa: disable=RF01,RF03,AL09

with raw_events as (
    select * from {{ source('raw', 'events') }}
    {%- if is_incremental() %}
        where {{ from_new_loads('_dlt_load_id', new_load_ids) }}
    {%- else %}
        where _dlt_load_id in ({{ committed_load_ids() }})
    {%- endif %}
),

event_type_aliases as (
    select * from {{ ref('event_type_aliases') }}
),

-- Read from the table, not the CTE above: a CTE used twice is materialized whole.
source_files as (
    select
        source_file,
        {{ key_digest('source_file') }} as source_file_digest
    from (
        select distinct source_file
        from {{ source('raw', 'events') }}
        {%- if is_incremental() %}
            where {{ from_new_loads('_dlt_load_id', new_load_ids) }}
        {%- endif %}
    ) as loaded_files
),

parsed as (
    select
        source_file,
        line_number,
        loaded_at,
        _dlt_load_id as load_id,
        raw_line,
        {{ json_object_fields('raw_line', event_keys) }} as doc
    from raw_events
),

nested as (
    select
        source_file,
        line_number,
        loaded_at,
        load_id,
        raw_line,
        doc,
        {{ json_object_fields('doc.metadata', metadata_keys, from_text=false) }} as meta,
        {{ json_object_fields('doc.context', context_keys, from_text=false) }} as ctx
    from parsed
),

typed as (
    select
        source_file,
        line_number,
        loaded_at,
        load_id,
        raw_line,
        doc is not null as is_json_object,
        {{ json_kind('doc.event_id') }} as event_id_kind,
        {{ json_text('doc.event_id') }} as event_id,
        case
            when {{ json_kind('doc.student_id') }} = 'string' and not {{ is_blank(json_text('doc.student_id')) }}
                then {{ student_hash(json_text('doc.student_id')) }}
        end as student_hash,
        case
            when {{ json_kind('doc.student_id') }} in ('string', 'number') then {{ json_text('doc.student_id') }}
        end as student_id,
        {{ json_kind('doc.event_type') }} as event_type_kind,
        {{ json_text('doc.event_type') }} as event_type_sent,
        {{ json_kind('doc.timestamp') }} as timestamp_kind,
        {{ json_text('doc.timestamp') }} as timestamp_sent,
        {{ json_text('doc.page_url') }} as page_url,
        {{ json_text('doc.course_id') }} as course_id,
        {{ json_text('doc.chapter_id') }} as chapter_id,
        {{ json_text('doc.question_id') }} as question_id,
        {{ json_kind('doc.metadata') }} as metadata_kind,
        doc.metadata as metadata,
        {%- for key in metadata_keys %}
            {{ json_kind('meta.' ~ key) }} as {{ key }}_kind,
        {%- endfor %}
        {{ json_number('meta.scroll_depth') }} as scroll_depth_sent,
        {{ json_number('meta.duration_seconds') }} as duration_seconds,
        {{ json_text('meta.video_id') }} as video_id,
        {{ json_number('meta.watched_seconds') }} as watched_seconds,
        {{ json_number('meta.video_duration_seconds') }} as video_duration_seconds,
        {{ json_number('meta.position_seconds') }} as position_seconds,
        {{ json_text('meta.quiz_id') }} as quiz_id,
        {{ json_boolean('meta.is_correct') }} as is_correct,
        {{ json_text('meta.selected_option') }} as selected_option,
        {{ json_number('meta.time_spent_seconds') }} as time_spent_seconds,
        {{ json_number('meta.attempt_number') }} as attempt_number,
        {{ json_text('meta.assignment_id') }} as assignment_id,
        {{ json_boolean('meta.on_time') }} as on_time,
        {{ json_text('ctx.user_agent') }} as user_agent,
        {{ json_text('ctx.ip') }} as ip_address,
        lower({{ json_text('ctx.platform') }}) as platform,
        {{ json_text('ctx.app_version') }} as app_version,
        lower({{ json_text('ctx.device_type') }}) as device_type_hint
    from nested
),

with_time as (
    select
        typed.*,
        {{ parse_event_timestamp('timestamp_sent') }} as ts,
        case
            when typed.event_type_kind = 'string'
                then replace(replace(lower(trim(typed.event_type_sent)), '-', '_'), ' ', '_')
        end as event_type_alias
    from typed
),

-- One equality, so the join is hashed: with the kind test in the join condition DuckDB 1.5
-- compared every record with every alias (a nested loop, 115 s of 200 at 10M events).
normalized as (
    select
        with_time.*,
        event_type_aliases.event_type
    from with_time
    left join event_type_aliases
        on with_time.event_type_alias = event_type_aliases.alias
),

-- The record's own ids as they are looked for in its other fields (events.md: at least 4 characters).
targeted as (
    select
        normalized.*,
        {{ redaction_target_text('student_id') }} as redact_student_id,
        {{ redaction_target_text('ip_address') }} as redact_ip
    from normalized
),

guarded as (
    select
        targeted.*,
        {{ raw_line_needs_redaction('raw_line', 'redact_student_id', 'redact_ip') }} as needs_redaction
    from targeted
),

final as (
    select
        guarded.source_file,
        -- A file name is not part of the line, so the guard does not cover it.
        {{ redact_key(
            'guarded.source_file', 'guarded.redact_student_id', 'guarded.redact_ip', 'source_files.source_file_digest'
        ) }} as source_file_redacted,
        guarded.line_number,
        guarded.loaded_at,
        guarded.load_id,
        guarded.is_json_object,
        guarded.needs_redaction,
        {{ json_needs_sanitizing(
            'guarded.metadata', 'guarded.redact_student_id', 'guarded.redact_ip', 'guarded.needs_redaction'
        ) }} as metadata_needs_redaction,
        guarded.event_id_kind,
        guarded.event_id,
        case
            when guarded.event_id_kind not in ('string', 'number') then null
            when guarded.needs_redaction
                then {{ redact_key(
                    'guarded.event_id', 'guarded.redact_student_id', 'guarded.redact_ip', key_digest('guarded.event_id')
                ) }}
            else guarded.event_id
        end as event_id_redacted,
        guarded.student_hash,
        guarded.student_id,
        guarded.event_type_kind,
        guarded.event_type_sent,
        guarded.event_type,
        guarded.timestamp_kind,
        guarded.timestamp_sent,
        guarded.ts,
        guarded.page_url,
        guarded.course_id,
        guarded.chapter_id,
        guarded.question_id,
        guarded.metadata_kind,
        guarded.metadata,
        {%- for key in metadata_keys %}
            guarded.{{ key }}_kind,
        {%- endfor %}
        guarded.scroll_depth_sent,
        guarded.duration_seconds,
        guarded.video_id,
        guarded.watched_seconds,
        guarded.video_duration_seconds,
        guarded.position_seconds,
        guarded.quiz_id,
        guarded.is_correct,
        guarded.selected_option,
        guarded.time_spent_seconds,
        guarded.attempt_number,
        guarded.assignment_id,
        guarded.on_time,
        guarded.user_agent,
        guarded.ip_address,
        guarded.platform,
        guarded.app_version,
        guarded.device_type_hint
    from guarded
    left join source_files
        on guarded.source_file = source_files.source_file
    -- Erased students (ops.erasures) never come back, whatever file still held them.
    where {{ not_erased('guarded.student_hash') }}
)

select * from final
