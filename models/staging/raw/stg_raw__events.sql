{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

{#- Parses each raw line once and types its fields; no contract rule is applied here, so
    every raw record stays one row. The student id is hashed at once; the raw IP stays in
    this model (which lives in the raw schema) only until enrichment turns it into a country.
    A table, not a view: parsing JSON is the most expensive step of the pipeline, and the
    validation reads its result twice; incremental (append) by dlt load, so every raw line
    is parsed exactly once. The raw text is not copied (writing it again cost a third of this
    model's time): validation joins it back for the rejected records only. -#}
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
-- Fields are read from parsed structs (`doc.event_id`), which sqlfluff takes for table references.
-- noqa: disable=RF01,RF03,AL09

with raw_events as (
    select * from {{ source('raw', 'events') }}
    {%- if is_incremental() %}
        where _dlt_load_id in ({{ sql_string_list(unprocessed_load_ids()) }})
    {%- else %}
        where _dlt_load_id in ({{ committed_load_ids() }})
    {%- endif %}
),

event_type_aliases as (
    select * from {{ ref('event_type_aliases') }}
),

parsed as (
    select
        source_file,
        line_number,
        loaded_at,
        _dlt_load_id as load_id,
        {{ json_object_fields('raw_line', event_keys) }} as doc
    from raw_events
),

nested as (
    select
        source_file,
        line_number,
        loaded_at,
        load_id,
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
        doc is not null as is_json_object,
        {{ json_kind('doc.event_id') }} as event_id_kind,
        {{ json_text('doc.event_id') }} as event_id,
        case
            when {{ json_kind('doc.student_id') }} = 'string' and not {{ is_blank(json_text('doc.student_id')) }}
                then {{ student_hash(json_text('doc.student_id')) }}
        end as student_hash,
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
        {{ parse_event_timestamp('timestamp_sent') }} as ts
    from typed
),

normalized as (
    select
        with_time.*,
        event_type_aliases.event_type
    from with_time
    left join event_type_aliases
        on
            with_time.event_type_kind = 'string'
            and event_type_aliases.alias
            = replace(replace(lower(trim(with_time.event_type_sent)), '-', '_'), ' ', '_')
)

select * from normalized
