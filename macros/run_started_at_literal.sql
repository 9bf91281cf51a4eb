{#- When this dbt run started, as a UTC timestamp literal. Every row a run writes carries it
    in `updated_at`, which is how the next model (and the next run) finds what changed. -#}
{% macro run_started_at_literal() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}+00:00' as {{ type_timestamp_tz() }})
{%- endmacro %}
