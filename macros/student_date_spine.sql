{#- One row per (student_hash, as_of_date) for every date from spine_start through
    latest_date of each row of `ranges_cte` (which also carries recompute_from). -#}
{% macro student_date_spine(ranges_cte) -%}
    {{ return(adapter.dispatch('student_date_spine')(ranges_cte)) }}
{%- endmacro %}

{% macro default__student_date_spine(ranges_cte) -%}
    select
        {{ ranges_cte }}.student_hash,
        {{ ranges_cte }}.recompute_from,
        as_of_date
    from {{ ranges_cte }}
    cross join unnest(generate_date_array({{ ranges_cte }}.spine_start, {{ ranges_cte }}.latest_date)) as as_of_date
{%- endmacro %}

{% macro duckdb__student_date_spine(ranges_cte) -%}
    select
        student_hash,
        recompute_from,
        cast(unnest(generate_series(spine_start, latest_date, interval 1 day)) as date) as as_of_date
    from {{ ranges_cte }}
{%- endmacro %}
