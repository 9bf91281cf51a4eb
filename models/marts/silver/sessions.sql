with cleaned_events as (
    select * from {{ ref('events_cleaned') }}
),

session_devices as (
    select
        session_id,
        device_type
    from cleaned_events
    where is_session_start
),

session_bounds as (
    select
        session_id,
        student_hash,
        min(ts) as session_start,
        max(ts) as session_end,
        count(*) as events_count
    from cleaned_events
    group by session_id, student_hash
),

final as (
    select
        session_bounds.session_id,
        session_bounds.student_hash,
        session_bounds.session_start,
        session_bounds.session_end,
        {{ seconds_between('session_bounds.session_start', 'session_bounds.session_end') }}
            as session_duration_seconds,
        session_bounds.events_count,
        session_devices.device_type,
        session_devices.device_type in ('mobile', 'tablet') as is_mobile,
        {{ to_reporting_date('session_bounds.session_start') }} as date
    from session_bounds
    inner join session_devices
        on session_bounds.session_id = session_devices.session_id
)

select * from final
