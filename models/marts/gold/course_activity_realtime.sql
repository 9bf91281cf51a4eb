{{ config(
    tags=['realtime'],
    **upsert_config(['course_id', 'minute_start'], 'minute_start', ['course_id'], date_type='timestamp', granularity='day')
) }}

{#- Per course and minute (UTC, `minute_start`): events in that minute, and distinct students
    active in the 5 and 15 minutes ending with it. A row exists for every minute from a
    course's event up to 14 minutes after it (while its 15-minute count is above zero), but
    never past the minute the run started. Incremental: the minutes from the earliest minute
    of the events written since the last run (or the last minute already here, so quiet
    minutes are filled in as time passes) up to the run's minute are recomputed from the
    events of 14 minutes before on. -#}
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
                        where {{ written_since_last_run() }}
                    ),
                    (select max(minute_start) from {{ this }})
                ),
                coalesce((select max(minute_start) from {{ this }}), {{ run_minute }})
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
        {{ dbt.date_trunc('minute', 'ts') }} as minute_start,
        count(*) as events_count
    from window_events
    group by course_id, student_hash, {{ dbt.date_trunc('minute', 'ts') }}
),

student_minute_gaps as (
    {#- A student counts at minute m in a W-minute window when active in [m - W + 1, m], that is
        when m lies in the union of [a, a + W - 1] over the student's active minutes a. Each
        union is cut into islands (a new one when the gap to the previous active minute is W or
        more); an island adds +1 from its first minute and -1 from W minutes after its last, and
        a running sum of those deltas per course is the distinct count: no minute-by-student
        expansion, so a day of 10M events stays one sort. -#}
    select
        course_id,
        student_hash,
        minute_start,
        lag(minute_start) over (partition by course_id, student_hash order by minute_start) as previous_minute
    from student_minutes
),

island_starts as (
    select
        course_id,
        student_hash,
        minute_start,
        case
            when previous_minute is null then 1
            when minute_start >= {{ dbt.dateadd('minute', 5, 'previous_minute') }} then 1
            else 0
        end as starts_island_5m,
        case
            when previous_minute is null then 1
            when minute_start >= {{ dbt.dateadd('minute', 15, 'previous_minute') }} then 1
            else 0
        end as starts_island_15m
    from student_minute_gaps
),

islands_numbered as (
    select
        course_id,
        student_hash,
        minute_start,
        sum(starts_island_5m) over student_so_far as island_5m,
        sum(starts_island_15m) over student_so_far as island_15m
    from island_starts
    window student_so_far as (partition by course_id, student_hash order by minute_start rows unbounded preceding)
),

islands_5m as (
    select
        course_id,
        min(minute_start) as first_minute,
        {{ dbt.dateadd('minute', 5, 'max(minute_start)') }} as end_minute
    from islands_numbered
    group by course_id, student_hash, island_5m
),

islands_15m as (
    select
        course_id,
        min(minute_start) as first_minute,
        {{ dbt.dateadd('minute', 15, 'max(minute_start)') }} as end_minute
    from islands_numbered
    group by course_id, student_hash, island_15m
),

event_minutes as (
    select
        course_id,
        minute_start,
        sum(events_count) as events_count
    from student_minutes
    group by course_id, minute_start
),

report_minutes as (
    select distinct
        event_minutes.course_id,
        {{ dbt.dateadd('minute', 'minute_offsets.offset_minutes', 'event_minutes.minute_start') }} as minute_start
    from event_minutes
    cross join minute_offsets
),

bounded_minutes as (
    select
        report_minutes.course_id,
        report_minutes.minute_start
    from report_minutes
    cross join recompute_start
    where
        report_minutes.minute_start <= {{ run_minute }}
        and (recompute_start.first_minute is null or report_minutes.minute_start >= recompute_start.first_minute)
),

activity_changes as (
    select
        course_id,
        first_minute as minute_start,
        1 as change_5m,
        0 as change_15m
    from islands_5m
    union all
    select
        course_id,
        end_minute as minute_start,
        -1 as change_5m,
        0 as change_15m
    from islands_5m
    union all
    select
        course_id,
        first_minute as minute_start,
        0 as change_5m,
        1 as change_15m
    from islands_15m
    union all
    select
        course_id,
        end_minute as minute_start,
        0 as change_5m,
        -1 as change_15m
    from islands_15m
    union all
    select
        course_id,
        minute_start,
        0 as change_5m,
        0 as change_15m
    from bounded_minutes
),

changes_per_minute as (
    select
        course_id,
        minute_start,
        sum(change_5m) as change_5m,
        sum(change_15m) as change_15m
    from activity_changes
    group by course_id, minute_start
),

active_students as (
    select
        course_id,
        minute_start,
        sum(change_5m) over course_so_far as active_students_5m,
        sum(change_15m) over course_so_far as active_students_15m
    from changes_per_minute
    window course_so_far as (partition by course_id order by minute_start rows unbounded preceding)
),

final as (
    select
        bounded_minutes.course_id,
        bounded_minutes.minute_start,
        coalesce(event_minutes.events_count, 0) as events_count,
        active_students.active_students_5m,
        active_students.active_students_15m,
        {{ run_started_at_literal() }} as updated_at
    from bounded_minutes
    inner join active_students
        on
            bounded_minutes.course_id = active_students.course_id
            and bounded_minutes.minute_start = active_students.minute_start
    left join event_minutes
        on
            bounded_minutes.course_id = event_minutes.course_id
            and bounded_minutes.minute_start = event_minutes.minute_start
)

select
    course_id,
    minute_start,
    cast(events_count as {{ dbt.type_bigint() }}) as events_count,
    cast(active_students_5m as {{ dbt.type_bigint() }}) as active_students_5m,
    cast(active_students_15m as {{ dbt.type_bigint() }}) as active_students_15m,
    updated_at
from final
