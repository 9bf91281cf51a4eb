{#- Pre-hook of the tables keyed by session (silver.sessions, int_session_chapter_days): a
    late event can merge two sessions, and the later one's session_id then disappears from
    events_cleaned. Delete such sessions, looking only at the students and dates that
    events_cleaned rewrote since the table last ran: a merged-away session's events were all
    rewritten, so its date (the date of one of its events) is on or after the earliest
    rewritten date, and the read of events_cleaned stays within those dates instead of the
    students' whole history. With also_rewritten, the rewritten sessions are deleted too,
    for a table that appends them again (a session's rows are replaced as a whole). -#}
{% macro delete_sessions_merged_away(also_rewritten=false) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where
        date >= (
            select min(date) from {{ ref('events_cleaned') }}
            where {{ written_since_last_run() }}
        )
        and (
            {%- if also_rewritten %}
            session_id in (
                select session_id from {{ ref('events_cleaned') }}
                where {{ written_since_last_run() }}
            )
            or
            {%- endif %}
            student_hash in (
                select student_hash from {{ ref('events_cleaned') }}
                where {{ written_since_last_run() }}
            )
            and session_id not in (
                select session_id from {{ ref('events_cleaned') }}
                where
                    date >= (
                        select min(date) from {{ ref('events_cleaned') }}
                        where {{ written_since_last_run() }}
                    )
                    and student_hash in (
                        select student_hash from {{ ref('events_cleaned') }}
                        where {{ written_since_last_run() }}
                    )
            )
        )
    {%- else -%}
    select 1
    {%- endif -%}
{%- endmacro %}
