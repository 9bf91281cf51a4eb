{{ config(
    **upsert_config('date', 'date', ['class_id', 'quiz_id', 'question_id'], bigquery_strategy='insert_overwrite')
) }}

{#- gold.question_attempts_summary per class: the quiz attempts of the class's students in
    the class's course. Dates with events_cleaned rows rewritten since this table's last run
    are summarized again as a whole; a new roster recomputes every date. -#}

{#- events_cleaned is read where it is filtered, not through one import CTE: a CTE read twice
    is materialized whole (every event, on every hourly run), while each read on its own is
    pruned by its filter. -#}
with class_students as (
    select * from {{ ref('class_students') }}
),

roster_changes as (
    select count(*) as changed_classes
    from class_students
    where {{ written_since_last_run('roster_loaded_at') }}
),

changed_dates as (
    select distinct date
    from {{ ref('events_cleaned') }}
    where
        {{ written_since_last_run() }}
        or (select changed_classes from roster_changes) > 0
),

class_attempts as (
    select
        class_students.class_id,
        class_students.school_id,
        cleaned_events.date,
        cleaned_events.quiz_id,
        cleaned_events.question_id,
        cleaned_events.is_correct,
        cleaned_events.time_spent_seconds
    from {{ ref('events_cleaned') }} as cleaned_events
    inner join class_students
        on
            cleaned_events.student_hash = class_students.student_hash
            and cleaned_events.course_id = class_students.course_id
    where
        cleaned_events.event_type = 'quiz_attempt'
        and cleaned_events.date in (select changed_dates.date from changed_dates)
),

attempts_by_question as (
    select
        class_id,
        school_id,
        date,
        quiz_id,
        question_id,
        count(*) as attempts_count,
        count(case when is_correct then 1 end) as correct_count,
        {{ exact_avg('time_spent_seconds') }} as avg_time_spent
    from class_attempts
    group by class_id, school_id, date, quiz_id, question_id
),

final as (
    select
        class_id,
        school_id,
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
