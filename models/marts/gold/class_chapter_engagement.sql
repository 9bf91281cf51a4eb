{{ config(
    **upsert_config('date', 'date', ['class_id', 'chapter_id'], bigquery_strategy='insert_overwrite')
) }}

{#- The metrics of gold.chapter_engagement (metrics.md) per class of the roster: over the
    events of the class's students in the class's course, with their sessions as they are
    (dwell to the next event of the session, whatever its course; an exit is a visit whose
    chapter is the chapter of the session's last chapter event). The same SQL as
    chapter_engagement (macros/chapter_engagement.sql). A new roster recomputes every date. -#}
{{ chapter_engagement_select(by_class=true) }}
