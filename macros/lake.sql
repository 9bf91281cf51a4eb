{#- The lake (FR-7): silver, gold and feature tables are also written as Parquet, one folder
    per date, under `<var lake_path>/<layer>/<table>/<date column>=YYYY-MM-DD/part_0.parquet`.
    Used as a post-hook. A full build rewrites the table's folder; an incremental build
    rewrites only the partitions whose rows this run wrote (updated_at = run_started_at),
    each as a whole, so a rewritten partition replaces the old one. DuckDB creates the
    table folder but not its parents; ensure_directory() (ingest/warehouse/dbt_plugin.py) does. -#}
{% macro export_to_lake(date_column='date') -%}
    {{ return(adapter.dispatch('export_to_lake')(date_column)) }}
{%- endmacro %}

{% macro default__export_to_lake(date_column) -%}
    {#- Other warehouses keep their own storage; nothing to write. -#}
    select 1
{%- endmacro %}

{% macro duckdb__export_to_lake(date_column) -%}
    {%- if not project_var('lake_export') -%}
        select 1
    {%- else -%}
    {%- set layer_path = project_var('lake_path') ~ '/' ~ this.schema -%}
    {%- set target_path = layer_path ~ '/' ~ this.identifier -%}
    select ensure_directory({{ sql_string_literal(layer_path) }});
    {% if is_incremental() -%}
    copy (
        select * from {{ this }}
        where {{ date_column }} in (
            select distinct {{ date_column }} from {{ this }}
            where updated_at = {{ run_started_at_literal() }}
        )
    ) to {{ sql_string_literal(target_path) }} (
        format parquet, partition_by ({{ date_column }}), overwrite_or_ignore, filename_pattern 'part_{i}'
    )
    {%- else -%}
    copy (select * from {{ this }}) to {{ sql_string_literal(target_path) }} (
        format parquet, partition_by ({{ date_column }}), overwrite, filename_pattern 'part_{i}'
    )
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}
