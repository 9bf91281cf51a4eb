{#- Layers are schemas with fixed names (raw, silver, gold, feature_store), not
    prefixes of the target schema, because analysts and dashboards query them by name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
