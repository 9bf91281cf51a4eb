{{ config(
    **upsert_config(['student_hash', 'as_of_date'], 'as_of_date', ['student_hash'])
) }}

{#- One row per student and as_of_date, from the student's first event date through the
    latest event date in the warehouse; each row uses only days on or before as_of_date.
    Built on a dense per-student calendar (days without activity count as zero), so the
    7-, 14- and 30-day windows are row windows over exactly those dates.
    Incremental strategy: a student is recomputed from the earliest date whose daily
    activity changed since this table's last run; when the latest date moves forward, every
    student gets the new as_of_dates. Rows are replaced on (student_hash, as_of_date). -#}

with daily_activity as (
    select * from {{ ref('student_daily_activity') }}
),

latest as (
    select max(date) as latest_date from daily_activity
),

previous_build as (
    {%- if is_incremental() %}
        select max(as_of_date) as latest_as_of_date from {{ this }}
    {%- else %}
        select cast(null as date) as latest_as_of_date
    {%- endif %}
),

students as (
    select
        student_hash,
        min(date) as first_date,
        min(case when {{ written_since_last_run() }} then date end) as changed_from
    from daily_activity
    group by student_hash
),

recompute_ranges as (
    select
        students.student_hash,
        {%- if is_incremental() %}
            case
                when students.changed_from is not null and latest.latest_date > previous_build.latest_as_of_date
                    then least(students.changed_from, {{ dbt.dateadd('day', 1, 'previous_build.latest_as_of_date') }})
                when students.changed_from is not null then students.changed_from
                when latest.latest_date > previous_build.latest_as_of_date
                    then {{ dbt.dateadd('day', 1, 'previous_build.latest_as_of_date') }}
            end as recompute_from,
        {%- else %}
            students.first_date as recompute_from,
        {%- endif %}
        latest.latest_date
    from students
    cross join latest
    cross join previous_build
),

ranges as (
    select
        student_hash,
        cast(recompute_from as date) as recompute_from,
        cast({{ dbt.dateadd('day', -29, 'recompute_from') }} as date) as spine_start,
        latest_date
    from recompute_ranges
    where recompute_from is not null
),

calendar as (
    {{ student_date_spine('ranges') }}
),

daily_on_calendar as (
    select
        calendar.student_hash,
        calendar.as_of_date,
        calendar.recompute_from,
        coalesce(daily_activity.total_time_spent_seconds, 0) as time_spent_seconds,
        coalesce(daily_activity.total_sessions, 0) as sessions,
        coalesce(daily_activity.quizzes_attempted, 0) as quiz_attempts,
        coalesce(daily_activity.quizzes_correct, 0) as quiz_correct,
        case when daily_activity.total_sessions > 0 then calendar.as_of_date end as session_date
    from calendar
    left join daily_activity
        on
            calendar.student_hash = daily_activity.student_hash
            and calendar.as_of_date = daily_activity.date
),

-- The last day with a session before the calendar starts, for last_login_days_ago.
earlier_sessions as (
    select
        daily_activity.student_hash,
        max(daily_activity.date) as last_session_date
    from daily_activity
    inner join ranges
        on daily_activity.student_hash = ranges.student_hash
    where
        daily_activity.total_sessions > 0
        and daily_activity.date < ranges.spine_start
    group by daily_activity.student_hash
),

windowed as (
    select
        daily_on_calendar.student_hash,
        daily_on_calendar.as_of_date,
        daily_on_calendar.recompute_from,
        {{ exact_sum('daily_on_calendar.time_spent_seconds', over='student_days_7') }}
            as rolling_7d_time_spent,
        sum(daily_on_calendar.sessions) over student_days_7 as rolling_7d_sessions,
        coalesce(
            {{ exact_sum('daily_on_calendar.time_spent_seconds', over='student_days_prior_7') }}, 0
        ) as previous_7d_time_spent,
        sum(daily_on_calendar.quiz_correct) over student_days_30 as quiz_correct_30d,
        sum(daily_on_calendar.quiz_attempts) over student_days_30 as quiz_attempts_30d,
        coalesce(
            max(daily_on_calendar.session_date) over student_days_so_far,
            earlier_sessions.last_session_date
        ) as last_session_date
    from daily_on_calendar
    left join earlier_sessions
        on daily_on_calendar.student_hash = earlier_sessions.student_hash
    window
        student_days_7 as (
            partition by daily_on_calendar.student_hash order by daily_on_calendar.as_of_date
            rows between 6 preceding and current row
        ),
        student_days_prior_7 as (
            partition by daily_on_calendar.student_hash order by daily_on_calendar.as_of_date
            rows between 13 preceding and 7 preceding
        ),
        student_days_30 as (
            partition by daily_on_calendar.student_hash order by daily_on_calendar.as_of_date
            rows between 29 preceding and current row
        ),
        student_days_so_far as (
            partition by daily_on_calendar.student_hash order by daily_on_calendar.as_of_date
            rows between unbounded preceding and current row
        )
),

final as (
    select
        student_hash,
        as_of_date,
        cast(rolling_7d_time_spent as {{ type_double() }}) as rolling_7d_time_spent,
        cast(rolling_7d_sessions as {{ dbt.type_bigint() }}) as rolling_7d_sessions,
        cast(quiz_correct_30d as {{ type_double() }}) / nullif(quiz_attempts_30d, 0) as avg_quiz_accuracy_30d,
        {{ dbt.datediff('last_session_date', 'as_of_date', 'day') }} as last_login_days_ago,  -- noqa: LT05
        (rolling_7d_time_spent - previous_7d_time_spent)
        / greatest(rolling_7d_time_spent + previous_7d_time_spent, 1) as engagement_trend,
        {{ run_started_at_literal() }} as updated_at
    from windowed
    where as_of_date >= recompute_from
)

select * from final
