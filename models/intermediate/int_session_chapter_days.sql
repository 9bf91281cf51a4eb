{{ config(
    pre_hook="{{ delete_sessions_merged_away(also_rewritten=true) }}",
    **append_config('date', ['student_hash', 'course_id'])
) }}

{#- The chapter events of one session on one date, course and chapter, with what the
    chapter engagement tables add up per date: page dwell, scroll depth, and whether the
    row holds a visit's first event and its session's exit chapter. A visit and a dwell look
    at a whole session, and a session can cross midnight, so the gold tables cannot be
    computed one date at a time from events without the previous date's sessions; they add
    these rows up instead. Incremental: events_cleaned rewrites whole sessions, so the rows
    it wrote since this table's last run are every event of the sessions to compute again;
    the pre-hook deletes their old rows (and those of sessions merged away) and the new ones
    are appended. -#}
{%- set dwell_cap_seconds = project_var('session_inactivity_minutes') * 60 -%}

with course_catalog as (
    select * from {{ ref('course_catalog') }}
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
    where {{ written_since_last_run('cleaned_events.updated_at') }}
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
        lead(ts) over (partition by session_id order by ts, event_id) as next_ts,
        -- The event's place in its session: the aggregates below pick a visit's first event and
        -- the session's last by it. Picking by a (ts, event_id) struct held a timestamp and a
        -- 36-character id per event in three aggregates' states and ran the even day's full
        -- build out of DuckDB's 5 GB (an integer: passes in 2 GB, 24 s instead of 34).
        row_number() over (partition by session_id order by ts, event_id) as event_seq
    from session_events
),

-- Page dwell (metrics.md): to the next event of the session, or the client's duration for
-- the session's last event, capped at the inactivity threshold.
chapter_events as (
    select
        session_id,
        student_hash,
        event_seq,
        event_type,
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
-- A visit is a (session, chapter) pair; in a class table, the pair within the class's
-- course (a visit whose events name two courses starts once in each).
visits as (
    select
        session_id,
        chapter_id,
        {{ first_by('course_id', ['event_seq']) }} as course_id,
        {{ first_by('date', ['event_seq']) }} as date
    from chapter_events
    group by session_id, chapter_id
),

course_visits as (
    select
        session_id,
        chapter_id,
        course_id,
        {{ first_by('date', ['event_seq']) }} as date
    from chapter_events
    group by session_id, chapter_id, course_id
),

session_exits as (
    select
        session_id,
        {{ last_by('chapter_id', ['event_seq']) }} as exit_chapter_id
    from chapter_events
    group by session_id
),

chapter_days as (
    select
        session_id,
        date,
        course_id,
        chapter_id,
        -- A session is one student's: not a grouping key.
        {{ dbt.any_value('student_hash') }} as student_hash,
        {{ exact_partial_sum('coalesce(dwell_seconds, 0)') }} as time_spent_seconds,
        {{ exact_partial_sum("case when event_type = 'page_view' then scroll_depth end") }}
            as scroll_depth_sum,
        count(case when event_type = 'page_view' then scroll_depth end) as scroll_depth_count
    from chapter_events
    group by session_id, date, course_id, chapter_id
),

final as (
    select
        chapter_days.session_id,
        chapter_days.student_hash,
        chapter_days.date,
        chapter_days.course_id,
        chapter_days.chapter_id,
        chapter_days.time_spent_seconds,
        chapter_days.scroll_depth_sum,
        chapter_days.scroll_depth_count,
        visits.session_id is not null as starts_visit,
        course_visits.session_id is not null as starts_course_visit,
        session_exits.exit_chapter_id = chapter_days.chapter_id as is_exit_chapter,
        {{ run_started_at_literal() }} as updated_at
    from chapter_days
    inner join session_exits
        on chapter_days.session_id = session_exits.session_id
    left join visits
        on
            chapter_days.session_id = visits.session_id
            and chapter_days.chapter_id = visits.chapter_id
            and chapter_days.date = visits.date
            and chapter_days.course_id is not distinct from visits.course_id
    left join course_visits
        on
            chapter_days.session_id = course_visits.session_id
            and chapter_days.chapter_id = course_visits.chapter_id
            and chapter_days.date = course_visits.date
            and chapter_days.course_id is not distinct from course_visits.course_id
)

select * from final
