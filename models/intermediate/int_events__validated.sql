{{ config(
    materialized='incremental', incremental_strategy='append', on_schema_change='fail',
    pre_hook="{{ keep_join_sides() }}", post_hook="{{ restore_join_sides() }}",
) }}

{#- Applies the event contract (events.md) to every raw record: the first rejection reason
    that applies, in the contract's order, or else kept/duplicate by the duplicate rule.
    Still one row per raw record, which makes `raw = cleaned + rejected + duplicates`
    checkable. Personal data leaves here (events.md): the raw IP is turned into a country and
    dropped; a text that may hold the record's own student_id or ip (staging's guard,
    needs_redaction) has it replaced by `<redacted>`; metadata that holds one or a personal
    key is rebuilt without them; event_id and source_file leave as the redacted forms
    staging made; a rejected record keeps a structural summary, never its text.
    Incremental (append): a run reads only the staged records of loads it has not seen
    (completed loads in raw._dlt_loads whose load_id is not here yet). A new valid record whose event_id
    was kept by an earlier run is a duplicate: the earlier load came first. -#}
{%- set new_load_ids = unprocessed_load_ids() %}

{#- The staged table is read several times on purpose, never through a shared CTE: narrow scans
    find the repeated event_ids for the duplicate rule, a wide one carries the records. A CTE
    read twice would be materialized whole, 10M wide rows spilled to disk. -#}
with checked as (
    select
        *,
        {{ rejection_reason() | indent(8) }} as rejection_reason
    from {{ ref('stg_raw__events') }}
    where {{ from_new_loads('load_id', new_load_ids) }}
),

-- The event_id of a valid record, the key of the duplicate rule: a plain equality keeps the
-- join to earlier copies hashed (a condition on one side only made DuckDB 1.5 loop).
keyed as (
    select
        *,
        case when rejection_reason is null then event_id end as valid_event_id
    from checked
),

-- The duplicate rule needs ranks only where an event_id was sent more than once (about 1% of
-- the records): those ids are found by counting, and only their copies are ranked, so the
-- contract's rule is not evaluated on every record a second time and 10M ids are not sorted.
repeated_event_ids as (
    select event_id
    from {{ ref('stg_raw__events') }}
    where
        event_id is not null
        and {{ from_new_loads('load_id', new_load_ids) }}
    group by event_id
    having count(*) > 1
),

-- Every copy of a repeated event_id, valid or not: the reason is derived in the select list,
-- after the semi-join, for these few (a filter on it would be pushed into the scan of every
-- record).
repeated_copies as (
    select
        staged_records.event_id,
        staged_records.event_id_redacted,
        staged_records.loaded_at,
        staged_records.source_file,
        staged_records.source_file_redacted,
        staged_records.line_number,
        {{ rejection_reason() | indent(8) }} as rejection_reason
    from {{ ref('stg_raw__events') }} as staged_records
    where
        staged_records.event_id in (select repeated_event_ids.event_id from repeated_event_ids)
        and {{ from_new_loads('staged_records.load_id', new_load_ids) }}
),

copy_ranks as (
    select
        event_id,
        source_file,
        line_number,
        rejection_reason,
        -- Among valid records sharing an event_id the first loaded is kept (events.md); the
        -- rejected copies are ranked after every valid one, so they never move a valid rank.
        row_number() over first_loaded as copy_number,
        first_value(source_file_redacted) over first_loaded as first_source_file,
        first_value(line_number) over first_loaded as first_line_number,
        first_value(event_id_redacted) over first_loaded as first_event_id
    from repeated_copies
    window first_loaded as (
        partition by event_id
        order by rejection_reason is not null, loaded_at, source_file, line_number
    )
),

-- The later copies only (about 1% of the records): a valid record not among them is the first
-- of its event_id. Joined back small, not as 10M ranks keyed by file name and line.
later_copies as (
    select
        event_id,
        source_file,
        line_number,
        copy_number,
        first_source_file,
        first_line_number,
        first_event_id
    from copy_ranks
    where
        copy_number > 1
        and rejection_reason is null
),

-- The duplicate rule compares raw event_ids, which only staging (raw schema) holds: the
-- earlier copies of the new ids are found there and matched to the kept rows by lineage.
earlier_copies as (
    {%- if is_incremental() %}
        select distinct
            event_id,
            source_file_redacted,
            line_number
        from {{ ref('stg_raw__events') }}
        where
            not {{ from_new_loads('load_id', new_load_ids) }}
            -- Every new id, valid or not (no rule to evaluate): a rejected record never joins
            -- what this finds, which is matched by valid_event_id.
            and event_id in (
                select new_records.event_id
                from {{ ref('stg_raw__events') }} as new_records
                where {{ from_new_loads('new_records.load_id', new_load_ids) }}
            )
    {%- else %}
        select
            cast(null as {{ dbt.type_string() }}) as event_id,
            cast(null as {{ dbt.type_string() }}) as source_file_redacted,
            cast(null as {{ dbt.type_bigint() }}) as line_number
        where false
    {%- endif %}
),

previously_kept as (
    {%- if is_incremental() %}
        select
            earlier_copies.event_id,
            kept_events.source_file as kept_source_file,
            kept_events.line_number as kept_line_number,
            kept_events.event_id as kept_event_id
        from {{ this }} as kept_events
        inner join earlier_copies
            on
                kept_events.source_file = earlier_copies.source_file_redacted
                and kept_events.line_number = earlier_copies.line_number
        where kept_events.record_status = 'kept'
    {%- else %}
        -- A full refresh has no earlier run: nothing kept before (earlier_copies is empty).
        select
            earlier_copies.event_id,
            cast(null as {{ dbt.type_string() }}) as kept_source_file,
            cast(null as {{ dbt.type_bigint() }}) as kept_line_number,
            cast(null as {{ dbt.type_string() }}) as kept_event_id
        from earlier_copies
    {%- endif %}
),

rejected_keys as (
    select
        source_file,
        line_number,
        is_json_object,
        {{ redaction_target_text('student_id') }} as redact_student_id,
        {{ redaction_target_text('ip_address') }} as redact_ip
    from {{ ref('stg_raw__events') }}
    where
        {{ rejection_reason() | indent(8) }} is not null
        and {{ from_new_loads('load_id', new_load_ids) }}
),

-- The raw text of the rejected records only (staging does not copy raw lines), for their
-- structural summary.
rejected_lines as (
    select
        raw_events.source_file,
        raw_events.line_number,
        raw_events.raw_line,
        case
            when rejected_keys.is_json_object then 'object'
            else {{ raw_line_kind('raw_events.raw_line') }}
        end as kind,
        rejected_keys.redact_student_id as student_id,
        rejected_keys.redact_ip as ip
    from {{ source('raw', 'events') }} as raw_events
    inner join rejected_keys
        on
            raw_events.source_file = rejected_keys.source_file
            and raw_events.line_number = rejected_keys.line_number
    where {{ from_new_loads('raw_events._dlt_load_id', new_load_ids) }}
),

rejected_shapes as (
    {{ record_shape_select('rejected_lines') | indent(4) }}
),

-- Metadata that holds the record's own ids or a personal key (a few rows), rebuilt.
suspect_metadata as (
    select
        source_file,
        line_number,
        metadata,
        {{ redaction_target_text('student_id') }} as redact_student_id,
        {{ redaction_target_text('ip_address') }} as redact_ip
    from {{ ref('stg_raw__events') }}
    where
        metadata_needs_redaction
        and {{ from_new_loads('load_id', new_load_ids) }}
),

redacted_metadata as (
    {{ redacted_json_select('suspect_metadata', 'metadata', 'redact_student_id', 'redact_ip') | indent(4) }}
),

-- Both fixes in one small relation, joined once: with two joins the planner misjudged their
-- sizes and built its hash tables on the wide side (+40% of this model's time).
row_fixes as (
    select
        source_file,
        line_number,
        any_value(record_shape) as record_shape,
        any_value(metadata) as metadata
    from (
        select
            source_file,
            line_number,
            record_shape,
            cast(null as json) as metadata
        from rejected_shapes
        union all
        select
            source_file,
            line_number,
            cast(null as json) as record_shape,
            metadata
        from redacted_metadata
    ) as fixes
    group by source_file, line_number
),

ip_countries as (
    {{ ip_country_lookup(
        'select ip_address from ' ~ ref('stg_raw__events') ~ ' where ' ~ from_new_loads('load_id', new_load_ids),
        'ip_address',
        ref('ip_country_ranges'),
    ) }}
),

ranked as (
    select
        keyed.*,
        previously_kept.event_id is not null as was_kept_before,
        previously_kept.kept_source_file as previously_kept_source_file,
        previously_kept.kept_line_number as previously_kept_line_number,
        previously_kept.kept_event_id as previously_kept_event_id,
        coalesce(later_copies.copy_number, 1) as copy_number,
        later_copies.first_source_file as kept_source_file,
        later_copies.first_line_number as kept_line_number,
        later_copies.first_event_id as kept_event_id
    from keyed
    left join later_copies
        on
            keyed.source_file = later_copies.source_file
            and keyed.line_number = later_copies.line_number
    left join previously_kept
        on keyed.valid_event_id = previously_kept.event_id
),

-- The columns a duplicate takes from the copy that was kept are redacted once more with
-- its own ids: they differ from its own only when two students sent the same event_id.
final as (
    select
        ranked.source_file_redacted as source_file,
        ranked.line_number,
        ranked.loaded_at,
        ranked.load_id,
        case
            when rejection_reason is not null then 'rejected'
            when was_kept_before then 'duplicate'
            when copy_number = 1 then 'kept'
            else 'duplicate'
        end as record_status,
        rejection_reason,
        row_fixes.record_shape,
        case
            when rejection_reason is not null then null
            when was_kept_before then {{ redact_own_ids('previously_kept_source_file', 'ranked') }}
            when copy_number > 1 then {{ redact_own_ids('kept_source_file', 'ranked') }}
        end as kept_source_file,
        case
            when rejection_reason is not null then null
            when was_kept_before then previously_kept_line_number
            when copy_number > 1 then kept_line_number
        end as kept_line_number,
        case
            when rejection_reason is not null then event_id_redacted
            when was_kept_before then {{ redact_own_ids('previously_kept_event_id', 'ranked') }}
            when copy_number > 1 then {{ redact_own_ids('kept_event_id', 'ranked') }}
            else event_id_redacted
        end as event_id,
        student_hash,
        coalesce(
            ranked.event_type,
            case
                when ranked.event_type_kind in ('string', 'number', 'boolean')
                    then {{ redacted_column('event_type_sent', 'ranked') }}
            end
        ) as event_type,
        ts,
        case when rejection_reason is null then {{ to_reporting_date('ts') }} end as date,
        {{ redacted_column('page_url', 'ranked') }} as page_url,
        {{ redacted_column('course_id', 'ranked') }} as course_id,
        {{ redacted_column('chapter_id', 'ranked') }} as chapter_id,
        {{ redacted_column('question_id', 'ranked') }} as question_id,
        case when ranked.event_type = 'quiz_attempt' then {{ redacted_column('quiz_id', 'ranked') }} end as quiz_id,
        case
            when ranked.metadata_needs_redaction then row_fixes.metadata
            else ranked.metadata
        end as metadata,
        case
            when event_type != 'page_view' then null
            when scroll_depth_sent > 1 then scroll_depth_sent / 100.0
            else scroll_depth_sent
        end as scroll_depth,
        case when event_type = 'page_view' then duration_seconds end as duration_seconds,
        case when event_type in {{ video_event_types() }} then watched_seconds end as watched_seconds,
        case
            when ranked.event_type in {{ video_event_types() }} then {{ redacted_column('video_id', 'ranked') }}
        end as video_id,
        case when event_type in {{ video_event_types() }} then video_duration_seconds end as video_duration_seconds,
        case when event_type in {{ video_event_types() }} then position_seconds end as position_seconds,
        case when event_type = 'quiz_attempt' then is_correct end as is_correct,
        case
            when ranked.event_type = 'quiz_attempt' then {{ redacted_column('selected_option', 'ranked') }}
        end as selected_option,
        case when event_type = 'quiz_attempt' then time_spent_seconds end as time_spent_seconds,
        case
            when event_type = 'quiz_attempt' and rejection_reason is null
                then cast(attempt_number as {{ dbt.type_int() }})
        end as attempt_number,
        case
            when ranked.event_type = 'submit_assignment' then {{ redacted_column('assignment_id', 'ranked') }}
        end as assignment_id,
        case when event_type = 'submit_assignment' then on_time end as on_time,
        {{ redacted_column('user_agent', 'ranked') }} as user_agent,
        {{ redacted_column('platform', 'ranked') }} as platform,
        {{ redacted_column('app_version', 'ranked') }} as app_version,
        {{ redacted_column('device_type_hint', 'ranked') }} as device_type_hint,
        ip_countries.ip_country as ip_geo,
        {{ run_started_at_literal() }} as processed_at
    from ranked
    left join ip_countries
        on ranked.ip_address = ip_countries.ip_address
    left join row_fixes
        on
            ranked.source_file = row_fixes.source_file
            and ranked.line_number = row_fixes.line_number
)

select * from final
