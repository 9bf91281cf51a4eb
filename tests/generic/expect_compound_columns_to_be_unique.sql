{#- Mirrors dbt-expectations' expect_compound_columns_to_be_unique. With
    `latest_write_column`, only the rows whose first column holds a value the latest run
    wrote are grouped (see latest_write_predicate): put first the column that a run writes
    whole (a file, a session), so that a new copy of an old row is still found, and an
    hourly run does not group the whole history. -#}
{% test expect_compound_columns_to_be_unique(model, column_list, latest_write_column=none) %}
select
    {{ column_list | join(', ') }},
    count(*) as copies
from {{ model }}
{%- if latest_write_column %}
where {{ column_list[0] }} in (
    select {{ column_list[0] }}
    from {{ model }}
    where {{ latest_write_predicate(model, latest_write_column) }}
)
{%- endif %}
group by {{ column_list | join(', ') }}
having count(*) > 1
{% endtest %}
