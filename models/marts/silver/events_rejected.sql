with validated_events as (
    select * from {{ ref('int_events__validated') }}
),

final as (
    select
        source_file,
        line_number,
        loaded_at,
        load_id,
        rejection_reason as reason,
        event_id,
        student_hash,
        event_type,
        raw_line_redacted
    from validated_events
    where record_status = 'rejected'
)

select * from final
