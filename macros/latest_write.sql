{#- Data tests that would rescan the whole history on every hourly run check the rows of
    the latest run instead: rows whose `column` (updated_at, processed_at) equals its
    maximum. In a full build that is every row. `--vars '{check_all_rows: true}'` checks
    the whole history again. -#}
{% macro latest_write_predicate(relation, column) -%}
    {%- if project_var('check_all_rows') -%}
        true
    {%- else -%}
        {{ column }} = (select max({{ column }}) from {{ relation }})
    {%- endif -%}
{%- endmacro %}
