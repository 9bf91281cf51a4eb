{{ config(
    **upsert_config('date', 'date', ['course_id', 'chapter_id'], bigquery_strategy='insert_overwrite')
) }}

{#- Incremental strategy: every date on which events_cleaned rows were rewritten since this
    table's last run is computed again as a whole (delete+insert on date), from the complete
    sessions that have an event on that date, because dwell looks at the next event and a
    visit at its session's first and last events. -#}
{%- set dwell_cap_seconds = project_var('session_inactivity_minutes') * 60 -%}

-- Only the columns used: this CTE is read twice, and DuckDB materializes such a CTE.
with cleaned_events as (
    select
        session_id,
        student_hash,
        event_id,
        event_type,
        ts,
        date,
        course_id,
        chapter_id,
        scroll_depth,
        duration_seconds,
        updated_at
    from {{ ref('events_cleaned') }}
),

course_catalog as (
    select * from {{ ref('course_catalog') }}
),

changed_dates as (
    select distinct date
    from cleaned_events
    where {{ written_since_last_run() }}
),

sessions_in_scope as (
    select distinct session_id
    from cleaned_events
    where date in (select date from changed_dates)
),

session_events as (
    select
        cleaned_events.session_id,
        cleaned_events.student_hash,
        cleaned_events.event_id,
        cleaned_events.event_type,
        cleaned_events.ts,
        cleaned_events.date,
        coalesce(cleaned_events.course_id, course_catalog.course_id) as course_id,
        cleaned_events.chapter_id,
        cleaned_events.scroll_depth,
        cleaned_events.duration_seconds
    from cleaned_events
    left join course_catalog
        on cleaned_events.chapter_id = course_catalog.chapter_id
    where cleaned_events.session_id in (select session_id from sessions_in_scope)
),

with_next_event as (
    select
        session_id,
        student_hash,
        event_id,
        event_type,
        ts,
        date,
        course_id,
        chapter_id,
        scroll_depth,
        duration_seconds,
        lead(ts) over (partition by session_id order by ts, event_id) as next_ts
    from session_events
),

-- Page dwell (metrics.md): to the next event of the session, or the client's duration for
-- the session's last event, capped at the inactivity threshold.
chapter_events as (
    select
        session_id,
        student_hash,
        event_id,
        event_type,
        ts,
        date,
        course_id,
        chapter_id,
        scroll_depth,
        case
            when event_type != 'page_view' then null
            when next_ts is not null
                then least({{ seconds_between('ts', 'next_ts') }}, {{ dwell_cap_seconds }})
            -- Spelled out: least() ignores NULL on DuckDB but returns NULL on BigQuery.
            when duration_seconds > {{ dwell_cap_seconds }} then {{ dwell_cap_seconds }}
            else duration_seconds
        end as dwell_seconds
    from with_next_event
    where chapter_id is not null
),

-- Aggregates, not windows: a visit's first event and a session's last chapter event are
-- picked with first_by/last_by, so the only sort of the model is the dwell window above.
visits as (
    select
        session_id,
        chapter_id,
        {{ first_by('course_id', ['ts', 'event_id']) }} as course_id,
        {{ first_by('date', ['ts', 'event_id']) }} as date
    from chapter_events
    group by session_id, chapter_id
),

session_exits as (
    select
        session_id,
        {{ last_by('chapter_id', ['ts', 'event_id']) }} as exit_chapter_id
    from chapter_events
    group by session_id
),

visits_by_day as (
    select
        visits.date,
        visits.course_id,
        visits.chapter_id,
        count(*) as visits_count,
        count(case when session_exits.exit_chapter_id = visits.chapter_id then 1 end) as exits_count
    from visits
    inner join session_exits
        on visits.session_id = session_exits.session_id
    group by visits.date, visits.course_id, visits.chapter_id
),

events_by_day as (
    select
        date,
        course_id,
        chapter_id,
        coalesce({{ exact_sum('coalesce(dwell_seconds, 0)') }}, 0) as total_time_spent,
        count(distinct student_hash) as unique_students,
        {{ exact_avg("case when event_type = 'page_view' then scroll_depth end") }} as avg_scroll_depth
    from chapter_events
    group by date, course_id, chapter_id
),

final as (
    select
        events_by_day.date,
        events_by_day.course_id,
        events_by_day.chapter_id,
        cast(events_by_day.total_time_spent as {{ type_double() }}) as total_time_spent,
        coalesce(visits_by_day.visits_count, 0) as visits_count,
        events_by_day.total_time_spent / nullif(visits_by_day.visits_count, 0) as avg_time_per_visit,
        events_by_day.unique_students,
        events_by_day.avg_scroll_depth,
        cast(visits_by_day.exits_count as {{ type_double() }}) / nullif(visits_by_day.visits_count, 0)
            as dropoff_rate,
        {{ run_started_at_literal() }} as updated_at
    from events_by_day
    left join visits_by_day
        on
            events_by_day.date = visits_by_day.date
            and events_by_day.chapter_id = visits_by_day.chapter_id
            and events_by_day.course_id is not distinct from visits_by_day.course_id
    where events_by_day.date in (select date from changed_dates)
)

select * from final
