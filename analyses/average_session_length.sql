-- Average session length per date and device type, in minutes; one-event sessions count as 0.
with sessions as (
    select * from {{ ref('sessions') }}
),

final as (
    select
        date,
        device_type,
        count(*) as sessions,
        avg(session_duration_seconds) / 60.0 as avg_session_minutes
    from sessions
    group by date, device_type
)

select
    date,
    device_type,
    sessions,
    avg_session_minutes
from final
order by date, device_type
