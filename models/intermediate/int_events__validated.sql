{{ config(materialized='incremental', incremental_strategy='append', on_schema_change='fail') }}

{#- Applies the event contract (events.md) to every raw record: the first rejection reason
    that applies, in the contract's order, or else kept/duplicate by the duplicate rule.
    Still one row per raw record, which makes `raw = cleaned + rejected + duplicates`
    checkable. Personal data leaves here: the raw IP is turned into a country and dropped.
    Incremental (append): a run reads only the raw records of loads it has not seen
    (completed loads in raw._dlt_loads whose load_id is not here yet), so the JSON parsing,
    the most expensive step, happens once per record. A new valid record whose event_id
    was kept by an earlier run is a duplicate: the earlier load came first. -#}
{%- set new_load_ids = [] -%}
{%- if is_incremental() and execute -%}
    {%- set new_loads_query -%}
        select load_id from {{ source('raw', '_dlt_loads') }}
        where status = 0 and load_id not in (select distinct load_id from {{ this }})
    {%- endset -%}
    {%- set new_load_ids = run_query(new_loads_query).columns[0].values() | list -%}
{%- endif %}

with staged_events as (
    select * from {{ ref('stg_raw__events') }}
    {%- if is_incremental() %}
        where load_id in ({{ sql_string_list(new_load_ids) }})
    {%- endif %}
),

ip_countries as (
    {{ ip_country_lookup('staged_events', 'ip_address', ref('ip_country_ranges')) }}
),

checked as (
    select
        *,
        case
            when not is_json_object then 'malformed_json'
            when
                coalesce(event_id_kind, 'null') != 'string'
                or {{ is_blank('event_id') }}
                or length(event_id) > 64
                then 'missing_event_id'
            when student_hash is null then 'missing_student_id'
            when
                coalesce(event_type_kind, 'null') = 'null'
                or (event_type_kind = 'string' and {{ is_blank('event_type_sent') }})
                then 'missing_event_type'
            when event_type is null then 'unknown_event_type'
            when
                coalesce(timestamp_kind, 'null') = 'null'
                or (timestamp_kind = 'string' and {{ is_blank('timestamp_sent') }})
                then 'missing_timestamp'
            when timestamp_kind != 'string' or ts is null then 'bad_timestamp'
            when
                ts < cast('2000-01-01 00:00:00+00:00' as {{ type_timestamp_tz() }})
                or ts > {{ dbt.dateadd('hour', var('max_future_hours'), 'loaded_at') }}
                then 'timestamp_out_of_range'
            when
                event_type = 'quiz_attempt' and {{ is_blank("coalesce(question_id, '')") }}
                then 'missing_question_id'
            when
                event_type = 'quiz_attempt'
                and (
                    coalesce(quiz_id_kind, 'null') = 'null'
                    or (quiz_id_kind = 'string' and {{ is_blank('quiz_id') }})
                )
                then 'missing_quiz_id'
            when
                coalesce(metadata_kind, 'null') not in ('null', 'object')
                or (
                    event_type = 'page_view' and (
                        coalesce(scroll_depth_kind, 'null') not in ('null', 'number')
                        or scroll_depth_sent < 0
                        or scroll_depth_sent > 100
                        or coalesce(duration_seconds_kind, 'null') not in ('null', 'number')
                        or duration_seconds < 0
                    )
                )
                or (
                    event_type in {{ video_event_types() }} and (
                        coalesce(video_id_kind, 'null') not in ('null', 'string')
                        or coalesce(watched_seconds_kind, 'null') not in ('null', 'number')
                        or watched_seconds < 0
                        or coalesce(video_duration_seconds_kind, 'null') not in ('null', 'number')
                        or video_duration_seconds <= 0
                        or coalesce(position_seconds_kind, 'null') not in ('null', 'number')
                        or position_seconds < 0
                    )
                )
                or (
                    event_type = 'quiz_attempt' and (
                        quiz_id_kind != 'string'
                        or coalesce(is_correct_kind, 'null') not in ('null', 'boolean')
                        or coalesce(time_spent_seconds_kind, 'null') not in ('null', 'number')
                        or time_spent_seconds < 0
                        or coalesce(attempt_number_kind, 'null') not in ('null', 'number')
                        or attempt_number < 1
                        or attempt_number != floor(attempt_number)
                    )
                )
                or (
                    event_type = 'submit_assignment' and (
                        coalesce(assignment_id_kind, 'null') not in ('null', 'string')
                        or coalesce(on_time_kind, 'null') not in ('null', 'boolean')
                    )
                )
                then 'bad_metadata'
        end as rejection_reason
    from staged_events
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
            and event_id in (
                select checked.event_id from checked
                where checked.rejection_reason is null
            )
    {%- else %}
        select
            cast(null as {{ dbt.type_string() }}) as event_id,
            cast(null as {{ dbt.type_string() }}) as kept_source_file,
            cast(null as {{ dbt.type_bigint() }}) as kept_line_number
        where false
    {%- endif %}
),

ranked as (
    select
        checked.*,
        previously_kept.event_id is not null as was_kept_before,
        previously_kept.kept_source_file as previously_kept_source_file,
        previously_kept.kept_line_number as previously_kept_line_number,
        -- Among valid records sharing an event_id the first loaded is kept (events.md).
        row_number() over (
            partition by checked.event_id, checked.rejection_reason is null
            order by checked.loaded_at, checked.source_file, checked.line_number
        ) as copy_number,
        first_value(source_file) over (
            partition by checked.event_id, checked.rejection_reason is null
            order by checked.loaded_at, checked.source_file, checked.line_number
        ) as kept_source_file,
        first_value(line_number) over (
            partition by checked.event_id, checked.rejection_reason is null
            order by checked.loaded_at, checked.source_file, checked.line_number
        ) as kept_line_number
    from checked
    left join previously_kept
        on
            checked.event_id = previously_kept.event_id
            and checked.rejection_reason is null
),

final as (
    select
        source_file,
        line_number,
        loaded_at,
        load_id,
        case
            when rejection_reason is not null then 'rejected'
            when was_kept_before then 'duplicate'
            when copy_number = 1 then 'kept'
            else 'duplicate'
        end as record_status,
        rejection_reason,
        case when rejection_reason is not null then {{ redact_personal_data('raw_line') }} end as raw_line_redacted,
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
        case when event_type = 'quiz_attempt' then cast(attempt_number as {{ dbt.type_int() }}) end as attempt_number,
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
)

select * from final
