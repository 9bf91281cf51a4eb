{#- Kept events with the device they came from: device_type is the client hint
    `context.device_type` when it is a known type, else the
    first matching rule of `user_agent_device_rules` for the lowercased user agent, else
    `unknown`. The rules run once per distinct user agent, not once per event. -#}

with validated_events as (
    select * from {{ ref('int_events__validated') }}
    where record_status = 'kept'
),

device_rules as (
    select * from {{ ref('user_agent_device_rules') }}
),

-- Read from the table, not the CTE above: a CTE used twice is materialized whole.
user_agents as (
    select distinct lower(user_agent) as user_agent
    from {{ ref('int_events__validated') }}
    where record_status = 'kept' and user_agent is not null
),

user_agent_matches as (
    select
        user_agents.user_agent,
        device_rules.device_type,
        row_number() over (partition by user_agents.user_agent order by device_rules.rule_order) as match_rank
    from user_agents
    inner join device_rules
        on
            {{ regex_contains('user_agents.user_agent', 'device_rules.pattern') }}
            and (
                device_rules.unless_pattern is null
                or not {{ regex_contains('user_agents.user_agent', 'device_rules.unless_pattern') }}
            )
),

user_agent_devices as (
    select
        user_agent,
        device_type
    from user_agent_matches
    where match_rank = 1
),

final as (
    select
        validated_events.event_id,
        validated_events.student_hash,
        validated_events.event_type,
        validated_events.ts,
        validated_events.date,
        validated_events.course_id,
        validated_events.chapter_id,
        validated_events.question_id,
        validated_events.quiz_id,
        case
            when validated_events.device_type_hint in ('mobile', 'tablet', 'desktop', 'bot', 'unknown')
                then validated_events.device_type_hint
            else coalesce(user_agent_devices.device_type, 'unknown')
        end as device_type,
        validated_events.ip_geo,
        validated_events.metadata,
        validated_events.scroll_depth,
        validated_events.duration_seconds,
        validated_events.watched_seconds,
        validated_events.video_id,
        validated_events.video_duration_seconds,
        validated_events.is_correct,
        validated_events.time_spent_seconds,
        validated_events.attempt_number,
        validated_events.page_url,
        validated_events.position_seconds,
        validated_events.selected_option,
        validated_events.assignment_id,
        validated_events.on_time,
        validated_events.platform,
        validated_events.app_version,
        validated_events.source_file,
        validated_events.line_number,
        validated_events.loaded_at,
        validated_events.load_id,
        validated_events.processed_at
    from validated_events
    left join user_agent_devices
        on lower(validated_events.user_agent) = user_agent_devices.user_agent
)

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
    device_type,
    device_type in ('mobile', 'tablet') as is_mobile,
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
    load_id,
    processed_at
from final
