with sessionized_events as (
    select * from {{ ref('int_events__sessionized') }}
),

final as (
    select
        event_id,
        student_hash,
        event_type,
        ts,
        date,
        course_id,
        chapter_id,
        question_id,
        quiz_id,
        session_id,
        is_session_start = 1 as is_session_start,
        device_type,
        is_mobile,
        ip_geo,
        metadata,
        scroll_depth,
        duration_seconds,
        watched_seconds,
        video_id,
        video_duration_seconds,
        is_correct,
        time_spent_seconds,
        attempt_number,
        page_url,
        position_seconds,
        selected_option,
        assignment_id,
        on_time,
        platform,
        app_version,
        source_file,
        line_number,
        loaded_at,
        load_id
    from sessionized_events
)

select * from final
