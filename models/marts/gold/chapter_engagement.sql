{{ config(
    **upsert_config('date', 'date', ['course_id', 'chapter_id'], bigquery_strategy='insert_overwrite')
) }}

{#- The metrics of metrics.md; the SQL is shared with class_chapter_engagement
    (macros/chapter_engagement.sql). -#}
{{ chapter_engagement_select() }}
