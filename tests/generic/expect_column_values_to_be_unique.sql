{#- Mirrors dbt-expectations' expect_column_values_to_be_unique. With `latest_write_column`,
    only values written by the latest run are checked, each against every row of the
    table (an old copy of a new value still counts), so an hourly run does not group the
    whole history. -#}
{% test expect_column_values_to_be_unique(model, column_name, latest_write_column=none) %}
with checked_values as (
    select {{ column_name }} as checked_value
    from {{ model }}
    where
        {{ column_name }} is not null
        {%- if latest_write_column %}
            and {{ column_name }} in (
                select {{ column_name }}
                from {{ model }}
                where {{ latest_write_predicate(model, latest_write_column) }}
            )
        {%- endif %}
)

select
    checked_value,
    count(*) as copies
from checked_values
group by checked_value
having count(*) > 1
{% endtest %}
