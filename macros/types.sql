{#- Durations are double precision (metrics.md); dbt.type_float() is single precision on DuckDB. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    {{ dbt.type_float() }}
{%- endmacro %}

{% macro duckdb__type_double() -%}
    double
{%- endmacro %}

{#- An instant (timestamp with time zone); BigQuery's TIMESTAMP already is one. -#}
{% macro type_timestamp_tz() -%}
    {{ return(adapter.dispatch('type_timestamp_tz')()) }}
{%- endmacro %}

{% macro default__type_timestamp_tz() -%}
    {{ dbt.type_timestamp() }}
{%- endmacro %}

{% macro duckdb__type_timestamp_tz() -%}
    timestamptz
{%- endmacro %}
