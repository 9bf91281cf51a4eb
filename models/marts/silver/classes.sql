with classes as (
    select * from {{ ref('stg_roster__classes') }}
),

final as (
    select
        class_id,
        school_id,
        course_id,
        class_title,
        roster_loaded_at
    from classes
)

select * from final
