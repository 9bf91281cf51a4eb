{{ config(
    pre_hook="{{ delete_sessions_merged_away() }}",
    **upsert_config('session_id', 'date', ['student_hash'])
) }}

{#- Incremental strategy: the sessions of events_cleaned rows rewritten since this table's
    last run are aggregated again from all their events and replace the old rows
    (delete+insert on session_id); sessions that a late event merged into another no
    longer exist in events_cleaned and are deleted by the pre-hook. -#}

-- Only the columns used: this CTE is read twice, and DuckDB materializes such a CTE.
with cleaned_events as (
    select
        session_id,
        student_hash,
        ts,
        is_session_start,
        device_type,
        updated_at
    from {{ ref('events_cleaned') }}
),

changed_sessions as (
    select distinct session_id
    from cleaned_events
    where {{ written_since_last_run() }}
),

session_events as (
    select
        session_id,
        student_hash,
        ts,
        is_session_start,
        device_type
    from cleaned_events
    where session_id in (select session_id from changed_sessions)
),

session_devices as (
    select
        session_id,
        device_type
    from session_events
    where is_session_start
),

session_bounds as (
    select
        session_id,
        student_hash,
        min(ts) as session_start,
        max(ts) as session_end,
        count(*) as events_count
    from session_events
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
        {{ to_reporting_date('session_bounds.session_start') }} as date,
        {{ run_started_at_literal() }} as updated_at
    from session_bounds
    inner join session_devices
        on session_bounds.session_id = session_devices.session_id
)

select * from final
