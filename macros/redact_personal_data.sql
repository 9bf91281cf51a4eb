{#- The raw text of a record with the values of `student_id` and `ip` masked, so rejected
    records can be inspected outside the raw layer. Works on text that is not valid JSON. -#}
{% macro redact_personal_data(text) -%}
    {{ return(adapter.dispatch('redact_personal_data')(text)) }}
{%- endmacro %}

{% macro personal_data_pattern() -%}
    {{- return('("(student_id|ip)"[[:space:]]*:[[:space:]]*)("([^"\\\\]|\\\\.)*"?|[^,}[:space:]]+)') -}}
{%- endmacro %}

{% macro default__redact_personal_data(text) -%}
    regexp_replace({{ text }}, r'{{ personal_data_pattern() }}', r'\1"<redacted>"')
{%- endmacro %}

{% macro duckdb__redact_personal_data(text) -%}
    regexp_replace({{ text }}, '{{ personal_data_pattern() }}', '\1"<redacted>"', 'g')
{%- endmacro %}
