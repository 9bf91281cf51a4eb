{#- dbt's is_incremental() asks the warehouse whether the table exists. An offline compile
    (`dbt compile --no-introspect`, used to check the BigQuery SQL without BigQuery) has
    no connection to ask, so it compiles the full-build variant instead. -#}
{% macro is_incremental() -%}
    {%- if not flags.INTROSPECT -%}
        {{ return(false) }}
    {%- endif -%}
    {{ return(dbt.is_incremental()) }}
{%- endmacro %}
