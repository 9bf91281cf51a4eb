{#- Completed dlt loads (raw._dlt_loads, status 0) that this incremental model has not
    processed yet: their load_id is not in its `load_id` column. An empty list in a full
    build or at parse time. The list is inlined into the model's filter as literals, so
    DuckDB prunes row groups by it instead of joining. -#}
{% macro unprocessed_load_ids() -%}
    {%- if not (is_incremental() and execute) -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set query -%}
        {{ committed_load_ids() }}
        and load_id not in (select distinct load_id from {{ this }})
        order by load_id
    {%- endset -%}
    {{ return(run_query(query).columns[0].values() | list) }}
{%- endmacro %}

{#- The load ids of committed loads. A load commits when dlt writes its `_dlt_loads` row
    (status 0); rows of a load without one were written by a run killed before it ended,
    and the next load deletes them (ingest/load/loader.py), so no model may read them. -#}
{% macro committed_load_ids() -%}
    select load_id from {{ source('raw', '_dlt_loads') }} where status = 0
{%- endmacro %}

{#- A where-clause condition: `column` is one of this run's new loads when the model runs
    incrementally, and `true` (every load) on a full refresh. The literal list lets DuckDB
    prune files and row groups (in the subquery too, which then reads next to nothing); the
    subquery makes the condition hold in the statement's own snapshot:
    the list was read by an earlier query, and a build that committed in between (a full
    refresh next to a stream cycle, on a PostgreSQL catalog) may already hold those loads. -#}
{% macro from_new_loads(column, new_load_ids) -%}
    {%- if is_incremental() -%}
        ({{ column }} in ({{ sql_string_list(new_load_ids) }})
        and {{ column }} not in (
            select processed.load_id from {{ this }} as processed
            where processed.load_id in ({{ sql_string_list(new_load_ids) }})
        ))
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
