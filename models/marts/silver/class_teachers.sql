with classes as (
    select * from {{ ref('stg_roster__classes') }}
),

enrollments as (
    select * from {{ ref('stg_roster__enrollments') }}
),

final as (
    select distinct
        classes.class_id,
        classes.school_id,
        classes.course_id,
        enrollments.teacher_id,
        classes.roster_loaded_at
    from enrollments
    inner join classes
        on enrollments.class_id = classes.class_id
    where enrollments.role = 'teacher'
)

select * from final
