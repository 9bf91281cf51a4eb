-- Nothing is lost (events.md): every raw record is exactly one of cleaned, rejected or
-- duplicate. Returns the raw records found in none or in more than one place.
with raw_events as (
    select
        source_file,
        line_number
    from {{ source('raw', 'events') }}
),

outcomes as (
    select
        source_file,
        line_number,
        'cleaned' as outcome
    from {{ ref('events_cleaned') }}
    union all
    select
        source_file,
        line_number,
        'rejected' as outcome
    from {{ ref('events_rejected') }}
    union all
    select
        source_file,
        line_number,
        'duplicate' as outcome
    from {{ ref('events_duplicates') }}
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
