{{ config(
    materialized='incremental',
    incremental_strategy=('merge' if target.type == 'bigquery' else 'delete+insert'),
    unique_key=['course_id', 'minute'],
    on_schema_change='fail',
    tags=['realtime'],
    partition_by={'field': 'minute', 'data_type': 'timestamp', 'granularity': 'day'} if target.type == 'bigquery' else none,
    cluster_by=['course_id'] if target.type == 'bigquery' else none,
) }}

{#- Per course and minute (UTC): events in that minute, and distinct students active in the
    5 and 15 minutes ending with it. A row exists for every minute from a course's event up to
    14 minutes after it (while its 15-minute count is above zero), but never past the minute
    the run started. Incremental: the minutes from the earliest minute of the events written
    since the last run (or the last minute already here, so quiet minutes are filled in as time
    passes) up to the run's minute are recomputed from the events of 14 minutes before on. -#}
{%- set window_minutes = 15 -%}
{%- set run_minute = dbt.date_trunc('minute', run_started_at_literal()) -%}

with cleaned_events as (
    select
        course_id,
        student_hash,
        ts,
        updated_at
    from {{ ref('events_cleaned') }}
    where course_id is not null
),

minute_offsets as (
    {%- for offset in range(window_minutes) %}
        select {{ offset }} as offset_minutes{{ " union all" if not loop.last }}
    {%- endfor %}
),

{% if is_incremental() %}

    recompute_start as (
        select
            least(
                coalesce(
                    (
                        select min({{ dbt.date_trunc('minute', 'ts') }})
                        from cleaned_events
                        where updated_at > (select max(updated_at) from {{ this }})
                    ),
                    (select max(minute) from {{ this }})
                ),
                coalesce((select max(minute) from {{ this }}), {{ run_minute }})
            ) as first_minute
    ),

    window_events as (
        select
            cleaned_events.course_id,
            cleaned_events.student_hash,
            cleaned_events.ts
        from cleaned_events
        where cleaned_events.ts >= (
            select {{ dbt.dateadd('minute', -(window_minutes - 1), 'first_minute') }} from recompute_start
        )
    ),

{% else %}

    recompute_start as (
        select cast(null as {{ type_timestamp_tz() }}) as first_minute
    ),

    window_events as (
        select
            course_id,
            student_hash,
            ts
        from cleaned_events
    ),

{% endif %}

student_minutes as (
    select
        course_id,
        student_hash,
        {{ dbt.date_trunc('minute', 'ts') }} as minute,
        count(*) as events_count
    from window_events
    group by course_id, student_hash, {{ dbt.date_trunc('minute', 'ts') }}
),

event_minutes as (
    select distinct
        course_id,
        minute
    from student_minutes
),

report_minutes as (
    select distinct
        event_minutes.course_id,
        {{ dbt.dateadd('minute', 'minute_offsets.offset_minutes', 'event_minutes.minute') }} as minute
    from event_minutes
    cross join minute_offsets
),

bounded_minutes as (
    select
        report_minutes.course_id,
        report_minutes.minute
    from report_minutes
    cross join recompute_start
    where
        report_minutes.minute <= {{ run_minute }}
        and (recompute_start.first_minute is null or report_minutes.minute >= recompute_start.first_minute)
),

final as (
    select
        bounded_minutes.course_id,
        bounded_minutes.minute,
        coalesce(sum(case when student_minutes.minute = bounded_minutes.minute then student_minutes.events_count end), 0)
            as events_count,
        count(distinct case
            when student_minutes.minute >= {{ dbt.dateadd('minute', -4, 'bounded_minutes.minute') }}
                then student_minutes.student_hash
        end) as active_students_5m,
        count(distinct student_minutes.student_hash) as active_students_15m,
        {{ run_started_at_literal() }} as updated_at
    from bounded_minutes
    inner join student_minutes
        on
            bounded_minutes.course_id = student_minutes.course_id
            and student_minutes.minute <= bounded_minutes.minute
            and student_minutes.minute >= {{ dbt.dateadd('minute', -(window_minutes - 1), 'bounded_minutes.minute') }}
    group by bounded_minutes.course_id, bounded_minutes.minute
)

select
    course_id,
    minute,
    cast(events_count as {{ dbt.type_bigint() }}) as events_count,
    active_students_5m,
    active_students_15m,
    updated_at
from final
