{#- Sessionization (metrics.md): per student, events in (ts, event_id) order; a gap strictly
    greater than `session_inactivity_minutes` starts a new session. -#}

with enriched_events as (
    select * from {{ ref('int_events__enriched') }}
),

with_previous as (
    select
        *,
        lag(ts) over (partition by student_hash order by ts, event_id) as previous_ts
    from enriched_events
),

flagged as (
    select
        *,
        case
            when previous_ts is null then 1
            when ts > {{ dbt.dateadd('minute', var('session_inactivity_minutes'), 'previous_ts') }} then 1
            else 0
        end as is_session_start
    from with_previous
),

numbered as (
    select
        *,
        sum(is_session_start) over (
            partition by student_hash
            order by ts, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from flagged
),

with_session_start as (
    select
        *,
        min(ts) over (partition by student_hash, session_number) as session_start
    from numbered
),

final as (
    select
        *,
        {{ session_id('student_hash', 'session_start') }} as session_id
    from with_session_start
)

select * from final
