{#- One row per student and class: who a teacher or a school may see (the read API and the
    dashboards scope every student-level answer through this table). -#}
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
        enrollments.student_hash,
        classes.roster_loaded_at
    from enrollments
    inner join classes
        on enrollments.class_id = classes.class_id
    where enrollments.role = 'student'
)

select * from final
