{#- The canonical video event types of events.md, as a SQL list. -#}
{% macro video_event_types() -%}
    ('video_play', 'video_pause', 'video_progress', 'video_complete')
{%- endmacro %}
