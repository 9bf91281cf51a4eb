{{ config(
    **upsert_config('date', 'date', ['quiz_id', 'question_id'], bigquery_strategy='insert_overwrite')
) }}

{#- Incremental strategy: dates with events_cleaned rows rewritten since this table's last
    run are summarized again as a whole (delete+insert on date). -#}

-- Only the columns used: this CTE is read twice, and DuckDB materializes such a CTE.
with cleaned_events as (
    select
        date,
        event_type,
        quiz_id,
        question_id,
        is_correct,
        time_spent_seconds,
        updated_at
    from {{ ref('events_cleaned') }}
),

changed_dates as (
    select distinct date
    from cleaned_events
    where {{ written_since_last_run() }}
),

quiz_attempts as (
    select
        date,
        quiz_id,
        question_id,
        is_correct,
        time_spent_seconds
    from cleaned_events
    where
        event_type = 'quiz_attempt'
        and date in (select date from changed_dates)
),

attempts_by_question as (
    select
        date,
        quiz_id,
        question_id,
        count(*) as attempts_count,
        count(case when is_correct then 1 end) as correct_count,
        {{ exact_avg('time_spent_seconds') }} as avg_time_spent
    from quiz_attempts
    group by date, quiz_id, question_id
),

final as (
    select
        date,
        quiz_id,
        question_id,
        attempts_count,
        correct_count,
        cast(avg_time_spent as {{ type_double() }}) as avg_time_spent,
        {{ smoothed_difficulty('correct_count', 'attempts_count') }} as difficulty_estimate,
        {{ run_started_at_literal() }} as updated_at
    from attempts_by_question
)

select * from final
