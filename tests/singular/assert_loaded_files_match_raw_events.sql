-- Nothing is lost in landing (events.md): every file of a committed load has in raw.events
-- exactly the lines its row in raw.loaded_files counts, and every line of a committed load
-- belongs to a file listed there. Returns the files where the two disagree. Checks the
-- loads the latest build validated (and loads of empty files, which have no lines to
-- scan); all loads with --vars '{check_all_rows: true}'. The loads are read first and
-- written into the query as literals: against a subquery DuckDB read the load id of every
-- raw line ever landed (1 s an hour at 10M lines), against literals it skips their files.
{%- set checked_loads_query -%}
    select distinct load_id
    from {{ ref('int_events__validated') }}
    where {{ latest_write_predicate(ref('int_events__validated'), 'processed_at') }}
    order by load_id
{%- endset -%}
{%- set validated = load_relation(ref('int_events__validated')) if execute and flags.INTROSPECT else none -%}
{%- set checked_load_ids = run_query(checked_loads_query).columns[0].values() | list if validated else [] %}

with counted_files as (
    select
        _dlt_load_id as load_id,
        source_file,
        rows as lines_counted
    from {{ source('raw', 'loaded_files') }}
    where
        _dlt_load_id in ({{ committed_load_ids() }})
        {%- if not project_var('check_all_rows') %}
            and (_dlt_load_id in ({{ sql_string_list(checked_load_ids) }}) or rows = 0)
        {%- endif %}
),

landed_files as (
    select
        _dlt_load_id as load_id,
        source_file,
        count(*) as lines_landed
    from {{ source('raw', 'events') }}
    where
        _dlt_load_id in ({{ committed_load_ids() }})
        {%- if not project_var('check_all_rows') %}
            and _dlt_load_id in ({{ sql_string_list(checked_load_ids) }})
        {%- endif %}
    group by _dlt_load_id, source_file
),

compared as (
    select
        coalesce(counted_files.load_id, landed_files.load_id) as load_id,
        coalesce(counted_files.source_file, landed_files.source_file) as source_file,
        counted_files.lines_counted,
        coalesce(landed_files.lines_landed, 0) as lines_landed
    from counted_files
    full outer join landed_files
        on
            counted_files.load_id = landed_files.load_id
            and counted_files.source_file = landed_files.source_file
)

select
    load_id,
    source_file,
    lines_counted,
    lines_landed
from compared
where lines_counted is null or lines_counted != lines_landed
