{#- gold.chapter_engagement (metrics.md) and, with by_class, the same metrics per class of
    the roster (gold.class_chapter_engagement): one body, so the two can never disagree on
    what a visit, a dwell or an exit is. Incremental: every date on which events_cleaned rows
    were rewritten since the table's last run is computed again as a whole, from the
    complete sessions that have an event on that date, because dwell looks at the next event
    and a visit at its session's first and last events. -#}
{% macro chapter_engagement_select(by_class=false) -%}
{%- set dwell_cap_seconds = project_var('session_inactivity_minutes') * 60 -%}
{%- set class_columns = 'class_id, school_id,' if by_class else '' -%}
{#- Without classes, the chapter events are grouped as they are: no extra CTE (DuckDB
    materializes a CTE read twice). -#}
{%- set grouped_events = 'grouped_events' if by_class else 'chapter_events' -%}
{#- events_cleaned is read where it is used, not through one import CTE: a CTE read three
    times is materialized whole (all 10M rows, 10 s of an hourly run with nothing to redo),
    while each read on its own is pruned by its filter (the rows written since the last run,
    the changed dates, the sessions in scope). #}
with course_catalog as (
    select * from {{ ref('course_catalog') }}
),
{%- if by_class %}

class_students as (
    select * from {{ ref('class_students') }}
),

-- A class's dates are all computed again when the roster changed since this table's last
-- run (a student moved class): every date of the class's students may differ.
roster_changes as (
    select count(*) as changed_classes
    from class_students
    where {{ written_since_last_run('roster_loaded_at') }}
),
{%- endif %}

changed_dates as (
    select distinct date
    from {{ ref('events_cleaned') }}
    where
        {{ written_since_last_run() }}
        {%- if by_class %}
            or (select changed_classes from roster_changes) > 0
        {%- endif %}
),

sessions_in_scope as (
    select distinct session_id
    from {{ ref('events_cleaned') }}
    where
        date in (select date from changed_dates)
        {%- if by_class %}
            -- Only the sessions of students in a class (a session is one student's). Without a
            -- roster the table stays empty, so every run found "every row new since the last
            -- one" and cut every session of the history again for nothing (14 s an hour at 10M).
            and student_hash in (select class_students.student_hash from class_students)
        {%- endif %}
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
    from {{ ref('events_cleaned') }} as cleaned_events
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
{%- if by_class %}

-- A class's events: those of its students in its course (a student in two classes of one
-- course counts in both).
grouped_events as (
    select
        chapter_events.*,
        class_students.class_id,
        class_students.school_id
    from chapter_events
    inner join class_students
        on
            chapter_events.student_hash = class_students.student_hash
            and chapter_events.course_id = class_students.course_id
),
{%- endif %}

-- Aggregates, not windows: a visit's first event and a session's last chapter event are
-- picked with first_by/last_by, so the only sort of the model is the dwell window above.
visits as (
    select
        {{ class_columns }}
        session_id,
        chapter_id,
        {{ first_by('course_id', ['ts', 'event_id']) }} as course_id,
        {{ first_by('date', ['ts', 'event_id']) }} as date
    from {{ grouped_events }}
    group by {{ class_columns }} session_id, chapter_id
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
        {{ class_columns | replace('class_id,', 'visits.class_id,') | replace('school_id,', 'visits.school_id,') }}
        visits.date,
        visits.course_id,
        visits.chapter_id,
        count(*) as visits_count,
        count(case when session_exits.exit_chapter_id = visits.chapter_id then 1 end) as exits_count
    from visits
    inner join session_exits
        on visits.session_id = session_exits.session_id
    group by
        {{ class_columns | replace('class_id,', 'visits.class_id,') | replace('school_id,', 'visits.school_id,') }}
        visits.date, visits.course_id, visits.chapter_id
),

events_by_day as (
    select
        {{ class_columns }}
        date,
        course_id,
        chapter_id,
        coalesce({{ exact_sum('coalesce(dwell_seconds, 0)') }}, 0) as total_time_spent,
        count(distinct student_hash) as unique_students,
        {{ exact_avg("case when event_type = 'page_view' then scroll_depth end") }} as avg_scroll_depth
    from {{ grouped_events }}
    group by {{ class_columns }} date, course_id, chapter_id
),

final as (
    select
        {{ class_columns | replace('class_id,', 'events_by_day.class_id,') | replace('school_id,', 'events_by_day.school_id,') }}
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
            {%- if by_class %}
                and events_by_day.class_id = visits_by_day.class_id
            {%- endif %}
            and events_by_day.chapter_id = visits_by_day.chapter_id
            and events_by_day.course_id is not distinct from visits_by_day.course_id
    where events_by_day.date in (select date from changed_dates)
)

select * from final
{%- endmacro %}
