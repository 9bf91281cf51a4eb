{{ config(**upsert_config('event_id', 'date', ['student_hash', 'course_id'])) }}
{{ config(pre_hook="{{ keep_join_sides() }}", post_hook="{{ restore_join_sides() }}") }}

{#- Incremental strategy: new kept events (validated in a run this table has not seen, or,
    with vars start_date/end_date, every event of those dates: a backfill) are sessionized
    together with the existing sessions they can join or merge: the sessions of the same
    student with an event within `session_inactivity_minutes` of the new events' time span.
    Those sessions are cut again as a whole and their rows replaced (delete+insert on
    event_id); every other row stays as it is. Joins keep their written sides
    (keep_join_sides): DuckDB 1.5 otherwise hashed all 10M earlier rows to find the few
    of the touched sessions (14 s of an hourly run, against 3 s). Rows written by this run carry
    updated_at = the run's start, which tells sessions and the gold tables what to redo. -#}
{%- set inactivity = project_var('session_inactivity_minutes') -%}

with enriched_events as (
    select * from {{ ref('int_events__enriched') }}
),

{% if is_incremental() %}

    new_events as (
        select
            {{ column_list(enriched_event_columns()) }}
        from enriched_events
        where
            {{ written_since_last_run('processed_at', 'processed_at') }}
        {%- set backfill = backfill_dates() %}
        {%- if backfill %}
            or date between cast({{ sql_string_literal(backfill[0]) }} as date) and cast({{ sql_string_literal(backfill[1]) }} as date)
        {%- endif %}
    ),

    new_event_spans as (
        select
            student_hash,
            min(ts) as span_start,
            max(ts) as span_end
        from new_events
        group by student_hash
    ),

    touched_sessions as (
        select distinct cleaned_before.session_id
        from {{ this }} as cleaned_before
        inner join new_event_spans
            on
                cleaned_before.student_hash = new_event_spans.student_hash
                and cleaned_before.ts >= {{ dbt.dateadd('minute', -inactivity, 'new_event_spans.span_start') }}
                and cleaned_before.ts <= {{ dbt.dateadd('minute', inactivity, 'new_event_spans.span_end') }}
    ),

    -- Where the touched sessions begin: their start rows, one per session, read narrow. It
    -- bounds the wide read below by time, so that row groups and date partitions before it
    -- are skipped (session_id, a digest, has no order to prune by): without it every hourly
    -- run read every column of the whole history to rewrite a few sessions.
    touched_since as (
        select min(session_starts.ts) as earliest_start
        from {{ this }} as session_starts
        where
            session_starts.is_session_start
            and session_starts.session_id in (select touched_sessions.session_id from touched_sessions)
    ),

    events_to_sessionize as (
        select
            {{ column_list(enriched_event_columns()) }}
        from {{ this }}
        where
            ts >= (select touched_since.earliest_start from touched_since)
            and session_id in (select session_id from touched_sessions)
            and event_id not in (select event_id from new_events)
        union all
        select
            {{ column_list(enriched_event_columns()) }}
        from new_events
    ),

    {{ sessionize('events_to_sessionize') }},

    sessionized_events as (
        select
            {{ column_list(enriched_event_columns(), 'events_to_sessionize') }},
            sessionized.is_session_start,
            sessionized.session_start
        from events_to_sessionize
        inner join sessionized
            on events_to_sessionize.event_id = sessionized.event_id
    ),

{% else %}

    sessionized_events as (
        select
            {{ column_list(enriched_event_columns(), 'enriched_events') }},
            sessions.is_session_start,
            sessions.session_start
        from enriched_events
        inner join {{ ref('int_events__sessionized') }} as sessions
            on enriched_events.event_id = sessions.event_id
    ),

{% endif %}

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
        {{ session_id('student_hash', 'session_start') }} as session_id,
        is_session_start,
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
        load_id,
        processed_at,
        {{ run_started_at_literal() }} as updated_at
    from sessionized_events
)

select * from final
