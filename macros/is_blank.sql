{#- True when text is empty or only JSON whitespace (space, tab, newline, carriage return). -#}
{% macro is_blank(text) -%}
    (trim({{ text }}, concat(' ', chr(9), chr(10), chr(13))) = '')
{%- endmacro %}
