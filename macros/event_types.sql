{#- The canonical video event types of events.md, as a SQL list. -#}
{% macro video_event_types() -%}
    ('video_play', 'video_pause', 'video_progress', 'video_complete')
{%- endmacro %}

{#- A list of values as SQL string literals for `in (...)`; `null` when empty (matches nothing). -#}
{% macro sql_string_list(values) -%}
    {%- if values | length == 0 -%}
        null
    {%- else -%}
        {%- for value in values -%}
            {{ sql_string_literal(value) }}{{ ', ' if not loop.last }}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
