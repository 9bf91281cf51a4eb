{#- Target-specific table configs in one place, so that a model says what it is (its key,
    its date, how it clusters) and not how each warehouse stores it.

    upsert_config: an incremental table whose rows are replaced by key. On DuckDB/DuckLake
    rows are replaced with delete+insert and the table's Parquet files are partitioned by
    its date column (a folder per date under the lake's data path); on BigQuery the table is
    partitioned by that date and clustered, and rows are merged (or whole dates overwritten,
    bigquery_strategy='insert_overwrite'). -#}
{% macro upsert_config(unique_key, date_column, cluster_by, date_type='date', bigquery_strategy='merge',
                       granularity=none) -%}
    {%- set settings = {'materialized': 'incremental', 'unique_key': unique_key, 'on_schema_change': 'fail'} -%}
    {%- if target.type == 'bigquery' -%}
        {%- set partition = {'field': date_column, 'data_type': date_type} -%}
        {%- if granularity -%}
            {%- do partition.update({'granularity': granularity}) -%}
        {%- endif -%}
        {%- do settings.update({'incremental_strategy': bigquery_strategy, 'partition_by': partition,
                                'cluster_by': cluster_by}) -%}
    {%- else -%}
        {%- do settings.update({'incremental_strategy': 'delete+insert'}) -%}
        {%- if date_type == 'date' -%}
            {%- do settings.update({'partitioned_by': [date_column]}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(settings) }}
{%- endmacro %}

{#- append_config: an incremental table whose new rows are appended (a pre-hook deletes the
    rows they replace). Partitioned by its date column on both targets, clustered on BigQuery;
    BigQuery's merge without a key only inserts. -#}
{% macro append_config(date_column, cluster_by) -%}
    {%- set settings = {'materialized': 'incremental', 'on_schema_change': 'fail'} -%}
    {%- if target.type == 'bigquery' -%}
        {%- do settings.update({'incremental_strategy': 'merge',
                                'partition_by': {'field': date_column, 'data_type': 'date'},
                                'cluster_by': cluster_by}) -%}
    {%- else -%}
        {%- do settings.update({'incremental_strategy': 'append', 'partitioned_by': [date_column]}) -%}
    {%- endif -%}
    {{ return(settings) }}
{%- endmacro %}
