{#- Kept events with the device and place they came from. -#}

with validated_events as (
    select * from {{ ref('int_events__validated') }}
    where record_status = 'kept'
),

with_device as (
    select
        *,
        case
            when device_type_hint in ('mobile', 'tablet', 'desktop', 'bot', 'unknown') then device_type_hint
            else 'unknown'
        end as device_type
    from validated_events
),

final as (
    select
        *,
        device_type in ('mobile', 'tablet') as is_mobile,
        cast(null as {{ dbt.type_string() }}) as ip_geo
    from with_device
)

select * from final
