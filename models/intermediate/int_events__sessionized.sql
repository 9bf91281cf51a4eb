{#- Every kept event's session: event_id -> session_id; see the `sessionize` macro for the
    rule. Narrow on purpose (events_cleaned joins it to the wide event rows). -#}

with kept_events as (
    select
        event_id,
        student_hash,
        ts
    from {{ ref('int_events__validated') }}
    where record_status = 'kept'
),

{{ sessionize('kept_events') }},

final as (
    select
        event_id,
        student_hash,
        is_session_start,
        session_start,
        {{ session_id('student_hash', 'session_start') }} as session_id
    from sessionized
)

select * from final
