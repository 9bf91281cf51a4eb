with schools as (
    select * from {{ source('raw', 'roster_schools') }}
),

final as (
    select
        school_id,
        name as school_name,
        loaded_at as roster_loaded_at
    from schools
)

select * from final
