{#- Sessionization (metrics.md) of the events in `events_cte` (columns: enriched_event_columns()).
    Per student_hash, in (ts, event_id) order, an event starts a session when it is the
    student's first or its gap to the previous event is strictly greater than
    `session_inactivity_minutes`: a lag window flags the starts, a running sum numbers the
    sessions. Renders CTEs ending in `sessionized`; the caller selects from it.
    Shared by int_events__sessionized (everything) and events_cleaned's incremental path
    (only the sessions new events can touch), so both cut sessions identically. -#}
{% macro sessionize(events_cte) -%}
with_previous as (
    select
        {{ column_list(enriched_event_columns()) }},
        lag(ts) over (partition by student_hash order by ts, event_id) as previous_ts
    from {{ events_cte }}
),

flagged as (
    select
        {{ column_list(enriched_event_columns()) }},
        case
            when previous_ts is null then 1
            when ts > {{ dbt.dateadd('minute', var('session_inactivity_minutes'), 'previous_ts') }} then 1
            else 0
        end as is_session_start
    from with_previous
),

numbered as (
    select
        {{ column_list(enriched_event_columns()) }},
        is_session_start,
        sum(is_session_start) over (
            partition by student_hash
            order by ts, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged
),

sessionized as (
    select
        {{ column_list(enriched_event_columns()) }},
        is_session_start = 1 as is_session_start,
        min(ts) over (partition by student_hash, session_number) as session_start
    from numbered
)
{%- endmacro %}
