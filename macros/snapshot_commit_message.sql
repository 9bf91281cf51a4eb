{#- Pre-hook of every model, seed and snapshot on DuckLake: the snapshot that the node's write
    commits says which dbt run and which relation made it (`python -m ingest snapshots`
    lists them). Nothing on other warehouses. -#}
{% macro snapshot_commit_message(relation=none) -%}
    {%- set relation = relation or this -%}
    {%- if target.type == 'duckdb' and adapter.is_ducklake(relation) -%}
        call {{ relation.database }}.set_commit_message('dbt', {{ sql_string_literal(
            'dbt ' ~ flags.WHICH ~ ' ' ~ invocation_id ~ ': ' ~ relation.schema ~ '.' ~ relation.identifier) }})
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
