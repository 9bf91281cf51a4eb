{#- gold.chapter_engagement (metrics.md) and, with by_class, the same metrics per class of
    the roster (gold.class_chapter_engagement): one body, so the two can never disagree on
    what a visit, a dwell or an exit is. Both add up int_session_chapter_days, the chapter
    events of each session per date with its dwell, visit starts and exit already decided
    over the whole session. Incremental: every date on which events_cleaned rows were
    rewritten since the table's last run is computed again as a whole, from those rows. -#}
{% macro chapter_engagement_select(by_class=false) -%}
{%- set class_columns = 'class_id, school_id,' if by_class else '' -%}
{#- A class counts the visits within its course; the table without classes, every visit. -#}
{%- set starts_visit = 'starts_course_visit' if by_class else 'starts_visit' -%}
with
{%- if by_class %}

class_students as (
    select * from {{ ref('class_students') }}
),

-- A class's dates are all computed again when the roster changed since this table's last
-- run (a student moved class): every date of the class's students may differ.
roster_changes as (
    select count(*) as changed_classes
    from class_students
    where {{ written_since_last_run('roster_loaded_at') }}
),
{%- endif %}

changed_dates as (
    select distinct date
    from {{ ref('events_cleaned') }}
    where
        {%- if by_class %}
            -- Without a roster there is nothing to compute: the table stays empty, so every
            -- row would look new since its last run, and every date would be read again.
            exists (select 1 from class_students)
            and ({{ written_since_last_run() }} or (select changed_classes from roster_changes) > 0)
        {%- else %}
            {{ written_since_last_run() }}
        {%- endif %}
),

chapter_days as (
    select
        student_hash,
        date,
        course_id,
        chapter_id,
        time_spent_seconds,
        scroll_depth_sum,
        scroll_depth_count,
        {{ starts_visit }} as starts_visit,
        is_exit_chapter
    from {{ ref('int_session_chapter_days') }}
    where
        date in (select date from changed_dates)
),
{%- if by_class %}

-- A class's rows: those of its students in its course (a student in two classes of one
-- course counts in both).
class_chapter_days as (
    select
        class_students.class_id,
        class_students.school_id,
        chapter_days.date,
        chapter_days.course_id,
        chapter_days.chapter_id,
        chapter_days.student_hash,
        chapter_days.time_spent_seconds,
        chapter_days.scroll_depth_sum,
        chapter_days.scroll_depth_count,
        chapter_days.starts_visit,
        chapter_days.is_exit_chapter
    from chapter_days
    inner join class_students
        on
            chapter_days.student_hash = class_students.student_hash
            and chapter_days.course_id = class_students.course_id
),
{%- endif %}

chapters_by_day as (
    select
        {{ class_columns }}
        date,
        course_id,
        chapter_id,
        coalesce({{ exact_sum('time_spent_seconds') }}, 0) as total_time_spent,
        count(case when starts_visit then 1 end) as visits_count,
        count(case when starts_visit and is_exit_chapter then 1 end) as exits_count,
        count(distinct student_hash) as unique_students,
        {{ exact_sum('scroll_depth_sum') }} / nullif(sum(scroll_depth_count), 0) as avg_scroll_depth
    from {{ 'class_chapter_days' if by_class else 'chapter_days' }}
    group by {{ class_columns }} date, course_id, chapter_id
),

final as (
    select
        {{ class_columns }}
        date,
        course_id,
        chapter_id,
        cast(total_time_spent as {{ type_double() }}) as total_time_spent,
        visits_count,
        total_time_spent / nullif(visits_count, 0) as avg_time_per_visit,
        unique_students,
        avg_scroll_depth,
        cast(exits_count as {{ type_double() }}) / nullif(visits_count, 0) as dropoff_rate,
        {{ run_started_at_literal() }} as updated_at
    from chapters_by_day
)

select * from final
{%- endmacro %}
