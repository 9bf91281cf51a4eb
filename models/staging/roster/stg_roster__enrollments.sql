{#- Students are known by student_hash from here on (the same hash as their events); the raw
    user_id stays in this view, which lives in the raw schema. Teachers keep their id: it is
    how a teacher's token names them (staff ids are not student data). -#}
with enrollments as (
    select * from {{ source('raw', 'roster_enrollments') }}
),

final as (
    select
        class_id,
        role,
        case when role = 'student' then {{ student_hash('user_id') }} end as student_hash,
        case when role = 'teacher' then user_id end as teacher_id,
        loaded_at as roster_loaded_at
    from enrollments
    where role <> 'student' or {{ not_erased(student_hash('user_id')) }}
)

select * from final
