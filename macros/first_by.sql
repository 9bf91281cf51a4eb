{#- Aggregates: the value of `value` on the row that comes first (first_by) or last
    (last_by) in the order of `order_columns`, within each group. -#}
{% macro first_by(value, order_columns) -%}
    {{ return(adapter.dispatch('first_by')(value, order_columns, false)) }}
{%- endmacro %}

{% macro last_by(value, order_columns) -%}
    {{ return(adapter.dispatch('first_by')(value, order_columns, true)) }}
{%- endmacro %}

{#- A NULL value on the first row is the answer, not skipped: hence the struct here (an
    array cannot hold NULL) and arg_min_null rather than arg_min on DuckDB. -#}
{% macro default__first_by(value, order_columns, descending) -%}
    array_agg(
        struct({{ value }} as picked)
        order by {{ order_columns | join(' desc, ' if descending else ', ') }}{{ ' desc' if descending }}
        limit 1
    )[offset(0)].picked
{%- endmacro %}

{% macro duckdb__first_by(value, order_columns, descending) -%}
    {%- set order_key = order_columns[0] if order_columns | length == 1 else '(' ~ order_columns | join(', ') ~ ')' %}
    {{ 'arg_max_null' if descending else 'arg_min_null' }}({{ value }}, {{ order_key }})
{%- endmacro %}
