-- Every cleaned event is counted in exactly one session, and daily activity counts every session.
with session_events as (
    select coalesce(sum(events_count), 0) as counted from {{ ref('sessions') }}
),

cleaned_events as (
    select count(*) as counted from {{ ref('events_cleaned') }}
),

daily_sessions as (
    select coalesce(sum(total_sessions), 0) as counted from {{ ref('student_daily_activity') }}
),

sessions as (
    select count(*) as counted from {{ ref('sessions') }}
)

select
    session_events.counted as events_in_sessions,
    cleaned_events.counted as cleaned_events,
    daily_sessions.counted as sessions_in_daily_activity,
    sessions.counted as sessions
from session_events
cross join cleaned_events
cross join daily_sessions
cross join sessions
where
    session_events.counted != cleaned_events.counted
    or daily_sessions.counted != sessions.counted
