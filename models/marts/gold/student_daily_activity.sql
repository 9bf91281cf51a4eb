{{ config(
    **upsert_config(['date', 'student_hash'], 'date', ['student_hash'])
) }}

{#- Incremental strategy: the (student, date) pairs of events_cleaned rows rewritten since
    this table's last run are computed again from all of that student's events and sessions
    on that date, and replace the old rows (delete+insert on date, student_hash). -#}

-- Only the columns used: this CTE is read twice, and DuckDB materializes such a CTE.
with cleaned_events as (
    select
        date,
        student_hash,
        event_type,
        is_correct,
        watched_seconds,
        updated_at
    from {{ ref('events_cleaned') }}
),

sessions as (
    select * from {{ ref('sessions') }}
),

changed_days as (
    select distinct
        date,
        student_hash
    from cleaned_events
    where {{ written_since_last_run() }}
),

events_by_day as (
    select
        cleaned_events.date,
        cleaned_events.student_hash,
        count(case when cleaned_events.event_type = 'page_view' then 1 end) as pages_viewed,
        count(case when cleaned_events.event_type = 'quiz_attempt' then 1 end) as quizzes_attempted,
        count(
            case when cleaned_events.event_type = 'quiz_attempt' and cleaned_events.is_correct then 1 end
        ) as quizzes_correct,
        coalesce(
            {{ exact_sum(
                'case when cleaned_events.event_type in ' ~ video_event_types() ~ ' then cleaned_events.watched_seconds end'
            ) }},
            0
        ) as videos_watched_seconds,
        count(case when cleaned_events.event_type = 'submit_assignment' then 1 end) as assignments_submitted
    from cleaned_events
    inner join changed_days
        on
            cleaned_events.date = changed_days.date
            and cleaned_events.student_hash = changed_days.student_hash
    group by cleaned_events.date, cleaned_events.student_hash
),

sessions_by_day as (
    select
        sessions.date,
        sessions.student_hash,
        count(*) as total_sessions,
        {{ exact_sum('sessions.session_duration_seconds') }} as total_time_spent_seconds
    from sessions
    inner join changed_days
        on
            sessions.date = changed_days.date
            and sessions.student_hash = changed_days.student_hash
    group by sessions.date, sessions.student_hash
),

final as (
    select
        events_by_day.date,
        events_by_day.student_hash,
        coalesce(sessions_by_day.total_sessions, 0) as total_sessions,
        cast(coalesce(sessions_by_day.total_time_spent_seconds, 0) as {{ type_double() }}) as total_time_spent_seconds,
        events_by_day.pages_viewed,
        events_by_day.quizzes_attempted,
        cast(events_by_day.videos_watched_seconds as {{ type_double() }}) as videos_watched_seconds,
        events_by_day.assignments_submitted,
        events_by_day.quizzes_correct,
        {{ run_started_at_literal() }} as updated_at
    from events_by_day
    left join sessions_by_day
        on
            events_by_day.date = sessions_by_day.date
            and events_by_day.student_hash = sessions_by_day.student_hash
)

select * from final
