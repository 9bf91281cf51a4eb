with cleaned_events as (
    select * from {{ ref('events_cleaned') }}
),

sessions as (
    select * from {{ ref('sessions') }}
),

events_by_day as (
    select
        date,
        student_hash,
        sum(case when event_type = 'page_view' then 1 else 0 end) as pages_viewed,
        sum(case when event_type = 'quiz_attempt' then 1 else 0 end) as quizzes_attempted,
        coalesce(sum(case when event_type in {{ video_event_types() }} then watched_seconds end), 0)
            as videos_watched_seconds,
        sum(case when event_type = 'submit_assignment' then 1 else 0 end) as assignments_submitted
    from cleaned_events
    group by date, student_hash
),

sessions_by_day as (
    select
        date,
        student_hash,
        count(*) as total_sessions,
        sum(session_duration_seconds) as total_time_spent_seconds
    from sessions
    group by date, student_hash
),

final as (
    select
        events_by_day.date,
        events_by_day.student_hash,
        coalesce(sessions_by_day.total_sessions, 0) as total_sessions,
        coalesce(sessions_by_day.total_time_spent_seconds, 0) as total_time_spent_seconds,
        events_by_day.pages_viewed,
        events_by_day.quizzes_attempted,
        cast(events_by_day.videos_watched_seconds as {{ type_double() }}) as videos_watched_seconds,
        events_by_day.assignments_submitted
    from events_by_day
    left join sessions_by_day
        on
            events_by_day.date = sessions_by_day.date
            and events_by_day.student_hash = sessions_by_day.student_hash
)

select * from final
