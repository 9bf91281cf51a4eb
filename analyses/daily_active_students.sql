-- Daily active students: distinct students with at least one kept event per date.
with daily_activity as (
    select * from {{ ref('student_daily_activity') }}
),

final as (
    select
        date,
        count(distinct student_hash) as active_students
    from daily_activity
    group by date
)

select
    date,
    active_students
from final
order by date
