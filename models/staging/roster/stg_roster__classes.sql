with classes as (
    select * from {{ source('raw', 'roster_classes') }}
),

final as (
    select
        class_id,
        school_id,
        course_id,
        title as class_title,
        loaded_at as roster_loaded_at
    from classes
)

select * from final
