{#- The columns a kept event carries from enrichment into silver.events_cleaned, in order.
    One list, so the full-refresh and the incremental paths can never drift apart. -#}
{% macro enriched_event_columns() -%}
    {{ return([
        'event_id', 'student_hash', 'event_type', 'ts', 'date', 'course_id', 'chapter_id',
        'question_id', 'quiz_id', 'device_type', 'is_mobile', 'ip_geo', 'metadata',
        'scroll_depth', 'duration_seconds', 'watched_seconds', 'video_id',
        'video_duration_seconds', 'is_correct', 'time_spent_seconds', 'attempt_number',
        'page_url', 'position_seconds', 'selected_option', 'assignment_id', 'on_time',
        'platform', 'app_version', 'source_file', 'line_number', 'loaded_at', 'load_id',
        'processed_at',
    ]) }}
{%- endmacro %}

{#- A comma-separated column list, optionally qualified: `a.x, a.y`. -#}
{% macro column_list(columns, qualifier=none) -%}
    {%- for column in columns -%}
        {{ qualifier ~ '.' if qualifier else '' }}{{ column }}{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}
