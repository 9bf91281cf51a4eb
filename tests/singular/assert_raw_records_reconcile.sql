-- Nothing is lost (events.md): every raw record is exactly one of cleaned, rejected or
-- duplicate. Returns the raw records found in none or in more than one place, and any
-- completed load that validation never saw. Record by record it checks the loads of the
-- latest run (every load after a full build; all of them with --vars '{check_all_rows: true}'),
-- so an hourly run does not rejoin the whole history. Records are named by their lineage as
-- written outside raw (a source_file that holds the record's own student id or ip is
-- redacted, events.md): raw.stg_raw__events gives that name for every raw record, and it
-- must hold as many records per load as raw.events.
with validated as (
    select
        load_id,
        processed_at
    from {{ ref('int_events__validated') }}
),

checked_loads as (
    select distinct load_id
    from validated
    where {{ latest_write_predicate(ref('int_events__validated'), 'processed_at') }}
),

-- Committed before the latest build, with at least one line: a load of empty files has
-- nothing for validation to see.
completed_loads as (
    select load_id
    from {{ source('raw', '_dlt_loads') }}
    where
        load_id in ({{ committed_load_ids() }})
        and inserted_at < (select max(processed_at) from validated)
        and load_id in (
            select loaded_files._dlt_load_id
            from {{ source('raw', 'loaded_files') }} as loaded_files
            where loaded_files.rows > 0
        )
),

raw_events as (
    select
        source_file_redacted as source_file,
        line_number,
        load_id
    from {{ ref('stg_raw__events') }}
    where load_id in (select checked_loads.load_id from checked_loads)
),

raw_counts as (
    select
        _dlt_load_id as load_id,
        count(*) as records
    from {{ source('raw', 'events') }}
    where _dlt_load_id in (select checked_loads.load_id from checked_loads)
    group by _dlt_load_id
),

staged_counts as (
    select
        load_id,
        count(*) as records
    from raw_events
    group by load_id
),

unstaged_loads as (
    select raw_counts.load_id
    from raw_counts
    left join staged_counts
        on raw_counts.load_id = staged_counts.load_id
    where staged_counts.records is null or staged_counts.records != raw_counts.records
),

outcomes as (
    select
        source_file,
        line_number,
        'cleaned' as outcome
    from {{ ref('events_cleaned') }}
    where load_id in (select checked_loads.load_id from checked_loads)
    union all
    select
        source_file,
        line_number,
        'rejected' as outcome
    from {{ ref('events_rejected') }}
    where load_id in (select checked_loads.load_id from checked_loads)
    union all
    select
        source_file,
        line_number,
        'duplicate' as outcome
    from {{ ref('events_duplicates') }}
    where load_id in (select checked_loads.load_id from checked_loads)
),

outcomes_per_record as (
    select
        raw_events.source_file,
        raw_events.line_number,
        count(outcomes.outcome) as outcome_count
    from raw_events
    left join outcomes
        on
            raw_events.source_file = outcomes.source_file
            and raw_events.line_number = outcomes.line_number
    group by raw_events.source_file, raw_events.line_number
),

unexplained_outcomes as (
    select
        outcomes.source_file,
        outcomes.line_number,
        1 as outcome_count
    from outcomes
    left join raw_events
        on
            outcomes.source_file = raw_events.source_file
            and outcomes.line_number = raw_events.line_number
    where raw_events.source_file is null
),

unvalidated_loads as (
    select completed_loads.load_id
    from completed_loads
    where completed_loads.load_id not in (select distinct validated.load_id from validated)
)

select
    source_file,
    line_number,
    outcome_count
from outcomes_per_record
where outcome_count != 1
union all
select
    source_file,
    line_number,
    outcome_count
from unexplained_outcomes
union all
select
    concat('load ', load_id) as source_file,
    cast(null as {{ dbt.type_bigint() }}) as line_number,
    0 as outcome_count
from unvalidated_loads
union all
select
    concat('unstaged records of load ', load_id) as source_file,
    cast(null as {{ dbt.type_bigint() }}) as line_number,
    0 as outcome_count
from unstaged_loads
