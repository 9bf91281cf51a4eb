{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

{#- Applies the event contract (events.md) to every raw record: the first rejection reason
    that applies, in the contract's order, or else kept/duplicate by the duplicate rule.
    Still one row per raw record, which makes `raw = cleaned + rejected + duplicates`
    checkable. Personal data leaves here: the raw IP is turned into a country and dropped.
    Incremental (append): a run reads only the staged records of loads it has not seen
    (completed loads in raw._dlt_loads whose load_id is not here yet). A new valid record whose event_id
    was kept by an earlier run is a duplicate: the earlier load came first. -#}
{%- set new_load_ids = unprocessed_load_ids() %}

{#- The staged table is read twice on purpose, never through a shared CTE: a narrow scan ranks
    the valid copies for the duplicate rule, a wide one carries the records. A CTE read
    twice would be materialized whole, 10M wide rows spilled to disk. -#}
with checked as (
    select
        *,
        {{ rejection_reason() | indent(8) }} as rejection_reason
    from {{ ref('stg_raw__events') }}
    {%- if is_incremental() %}
        where load_id in ({{ sql_string_list(new_load_ids) }})
    {%- endif %}
),

valid_copies as (
    select
        event_id,
        loaded_at,
        source_file,
        line_number
    from {{ ref('stg_raw__events') }}
    where
        {{ rejection_reason() | indent(8) }} is null
        {%- if is_incremental() %}
            and load_id in ({{ sql_string_list(new_load_ids) }})
        {%- endif %}
),

copy_ranks as (
    select
        event_id,
        source_file,
        line_number,
        -- Among valid records sharing an event_id the first loaded is kept (events.md).
        row_number() over first_loaded as copy_number,
        first_value(source_file) over first_loaded as first_source_file,
        first_value(line_number) over first_loaded as first_line_number
    from valid_copies
    window first_loaded as (partition by event_id order by loaded_at, source_file, line_number)
),

previously_kept as (
    {%- if is_incremental() %}
        select
            event_id,
            source_file as kept_source_file,
            line_number as kept_line_number
        from {{ this }}
        where
            record_status = 'kept'
            and event_id in (select copy_ranks.event_id from copy_ranks)
    {%- else %}
        select
            cast(null as {{ dbt.type_string() }}) as event_id,
            cast(null as {{ dbt.type_string() }}) as kept_source_file,
            cast(null as {{ dbt.type_bigint() }}) as kept_line_number
        where false
    {%- endif %}
),

rejected_keys as (
    select
        source_file,
        line_number
    from {{ ref('stg_raw__events') }}
    where
        {{ rejection_reason() | indent(8) }} is not null
        {%- if is_incremental() %}
            and load_id in ({{ sql_string_list(new_load_ids) }})
        {%- endif %}
),

-- The raw text, masked, for the rejected records only: staging does not copy raw lines.
rejected_raw_lines as (
    select
        raw_events.source_file,
        raw_events.line_number,
        {{ redact_personal_data('raw_events.raw_line') }} as raw_line_redacted
    from {{ source('raw', 'events') }} as raw_events
    inner join rejected_keys
        on
            raw_events.source_file = rejected_keys.source_file
            and raw_events.line_number = rejected_keys.line_number
    {%- if is_incremental() %}
        where raw_events._dlt_load_id in ({{ sql_string_list(new_load_ids) }})
    {%- endif %}
),

ip_countries as (
    {{ ip_country_lookup(
        'select ip_address from ' ~ ref('stg_raw__events')
        ~ (' where load_id in (' ~ sql_string_list(new_load_ids) ~ ')' if is_incremental() else ''),
        'ip_address',
        ref('ip_country_ranges'),
    ) }}
),

ranked as (
    select
        checked.*,
        previously_kept.event_id is not null as was_kept_before,
        previously_kept.kept_source_file as previously_kept_source_file,
        previously_kept.kept_line_number as previously_kept_line_number,
        copy_ranks.copy_number,
        copy_ranks.first_source_file as kept_source_file,
        copy_ranks.first_line_number as kept_line_number
    from checked
    left join copy_ranks
        on
            checked.source_file = copy_ranks.source_file
            and checked.line_number = copy_ranks.line_number
    left join previously_kept
        on
            checked.event_id = previously_kept.event_id
            and checked.rejection_reason is null
),

final as (
    select
        ranked.source_file,
        ranked.line_number,
        loaded_at,
        load_id,
        case
            when rejection_reason is not null then 'rejected'
            when was_kept_before then 'duplicate'
            when copy_number = 1 then 'kept'
            else 'duplicate'
        end as record_status,
        rejection_reason,
        rejected_raw_lines.raw_line_redacted,
        case
            when rejection_reason is not null then null
            when was_kept_before then previously_kept_source_file
            when copy_number > 1 then kept_source_file
        end as kept_source_file,
        case
            when rejection_reason is not null then null
            when was_kept_before then previously_kept_line_number
            when copy_number > 1 then kept_line_number
        end as kept_line_number,
        event_id,
        student_hash,
        coalesce(event_type, event_type_sent) as event_type,
        ts,
        case when rejection_reason is null then {{ to_reporting_date('ts') }} end as date,
        page_url,
        course_id,
        chapter_id,
        question_id,
        case when event_type = 'quiz_attempt' then quiz_id end as quiz_id,
        metadata,
        case
            when event_type != 'page_view' then null
            when scroll_depth_sent > 1 then scroll_depth_sent / 100.0
            else scroll_depth_sent
        end as scroll_depth,
        case when event_type = 'page_view' then duration_seconds end as duration_seconds,
        case when event_type in {{ video_event_types() }} then watched_seconds end as watched_seconds,
        case when event_type in {{ video_event_types() }} then video_id end as video_id,
        case when event_type in {{ video_event_types() }} then video_duration_seconds end as video_duration_seconds,
        case when event_type in {{ video_event_types() }} then position_seconds end as position_seconds,
        case when event_type = 'quiz_attempt' then is_correct end as is_correct,
        case when event_type = 'quiz_attempt' then selected_option end as selected_option,
        case when event_type = 'quiz_attempt' then time_spent_seconds end as time_spent_seconds,
        case
            when event_type = 'quiz_attempt' and rejection_reason is null
                then cast(attempt_number as {{ dbt.type_int() }})
        end as attempt_number,
        case when event_type = 'submit_assignment' then assignment_id end as assignment_id,
        case when event_type = 'submit_assignment' then on_time end as on_time,
        user_agent,
        platform,
        app_version,
        device_type_hint,
        ip_countries.ip_country as ip_geo,
        {{ run_started_at_literal() }} as processed_at
    from ranked
    left join ip_countries
        on ranked.ip_address = ip_countries.ip_address
    left join rejected_raw_lines
        on
            ranked.source_file = rejected_raw_lines.source_file
            and ranked.line_number = rejected_raw_lines.line_number
)

select * from final
