with schools as (
    select * from {{ ref('stg_roster__schools') }}
),

final as (
    select
        school_id,
        school_name,
        roster_loaded_at
    from schools
)

select * from final
