{#- `dbt run-operation print_bigquery_table_ddl --target bigquery`: the head of the DDL that
    BigQuery gets for every partitioned model, made by the adapter's own partition_by and
    cluster_by macros, offline (no query runs). It shows that a query for one day scans one
    partition. -#}
{% macro print_bigquery_table_ddl() %}
    {%- if target.type != 'bigquery' -%}
        {{ exceptions.raise_compiler_error("print_bigquery_table_ddl shows BigQuery DDL: run it with --target bigquery") }}
    {%- endif -%}
    {%- for node in graph.nodes.values() | sort(attribute='name')
        if node.resource_type == 'model' and node.config.get('partition_by') -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- set partitioning = partition_by(adapter.parse_partition_by(node.config.get('partition_by'))) -%}
        {%- set clustering = cluster_by(node.config.get('cluster_by')) -%}
        {%- do print('create or replace table ' ~ relation ~ ' ' ~ partitioning | trim ~ ' '
            ~ (clustering | trim | replace('\n', ' ')) ~ ' as (...);') -%}
    {%- endfor -%}
{% endmacro %}
