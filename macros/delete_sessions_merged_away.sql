{#- Pre-hook of silver.sessions: a late event can merge two sessions, and the later one's
    session_id then disappears from events_cleaned. Delete such sessions, looking only at
    the students and time spans that events_cleaned rewrote since sessions last ran. -#}
{% macro delete_sessions_merged_away() -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where
        student_hash in (
            select student_hash from {{ ref('events_cleaned') }}
            where {{ written_since_last_run() }}
        )
        and session_id not in (
            select session_id from {{ ref('events_cleaned') }}
            where student_hash in (
                select student_hash from {{ ref('events_cleaned') }}
                where {{ written_since_last_run() }}
            )
        )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
