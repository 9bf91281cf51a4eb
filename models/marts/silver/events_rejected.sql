{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
) }}

{#- Incremental strategy: append the records validated since this table's last run
    (a record's verdict never changes once it is validated). -#}

with validated_events as (
    select * from {{ ref('int_events__validated') }}
),

final as (
    select
        source_file,
        line_number,
        loaded_at,
        load_id,
        rejection_reason as reason,
        event_id,
        student_hash,
        event_type,
        record_shape,
        {{ to_reporting_date('loaded_at') }} as loaded_date,
        processed_at,
        {{ run_started_at_literal() }} as updated_at
    from validated_events
    where
        record_status = 'rejected'
        and {{ written_since_last_run('processed_at', 'processed_at') }}
)

select * from final
