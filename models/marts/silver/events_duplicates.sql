with validated_events as (
    select * from {{ ref('int_events__validated') }}
),

final as (
    select
        source_file,
        line_number,
        loaded_at,
        load_id,
        event_id,
        kept_source_file,
        kept_line_number
    from validated_events
    where record_status = 'duplicate'
)

select * from final
