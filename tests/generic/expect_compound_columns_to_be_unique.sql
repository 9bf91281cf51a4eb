{#- Mirrors dbt-expectations' expect_compound_columns_to_be_unique. -#}
{% test expect_compound_columns_to_be_unique(model, column_list) %}
select
    {{ column_list | join(', ') }},
    count(*) as copies
from {{ model }}
group by {{ column_list | join(', ') }}
having count(*) > 1
{% endtest %}
