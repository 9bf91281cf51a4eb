{#- Sessionization (metrics.md) of the events in `events_cte` (it needs event_id,
    student_hash and ts). Per student_hash, in (ts, event_id) order, an event starts a
    session when it is the student's first or its gap to the previous event is strictly
    greater than `session_inactivity_minutes`: a lag window flags the starts, and a running
    max over the same window carries each start's time to the events after it.
    Works on three narrow columns, so sorting 10M events stays cheap; callers join the
    result (CTE `sessionized`: event_id, is_session_start, session_start) back by event_id.
    Shared by int_events__sessionized (everything) and events_cleaned's incremental path
    (only the sessions new events can touch), so both cut sessions identically. -#}
{% macro sessionize(events_cte) -%}
session_keys as (
    select
        event_id,
        student_hash,
        ts,
        lag(ts) over student_timeline as previous_ts
    from {{ events_cte }}
    window student_timeline as (partition by student_hash order by ts, event_id)
),

session_starts as (
    select
        event_id,
        student_hash,
        ts,
        previous_ts is null
        or ts > {{ dbt.dateadd('minute', project_var('session_inactivity_minutes'), 'previous_ts') }} as is_session_start
    from session_keys
),

sessionized as (
    select
        event_id,
        student_hash,
        is_session_start,
        max(case when is_session_start then ts end) over (
            partition by student_hash
            order by ts, event_id
            rows between unbounded preceding and current row
        ) as session_start
    from session_starts
)
{%- endmacro %}
