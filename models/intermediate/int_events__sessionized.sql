{#- Every kept event with its session; see the `sessionize` macro for the rule. -#}

with enriched_events as (
    select * from {{ ref('int_events__enriched') }}
),

{{ sessionize('enriched_events') }},

final as (
    select
        {{ column_list(enriched_event_columns()) }},
        is_session_start,
        session_start,
        {{ session_id('student_hash', 'session_start') }} as session_id
    from sessionized
)

select * from final
