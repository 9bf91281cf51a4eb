{#- Mirrors dbt-expectations' expect_table_row_count_to_be_between. -#}
{% test expect_table_row_count_to_be_between(model, min_value=none, max_value=none) %}
with row_count as (
    select count(*) as row_count from {{ model }}
)

select row_count
from row_count
where
    false
    {%- if min_value is not none %} or row_count < {{ min_value }}{% endif %}
    {%- if max_value is not none %} or row_count > {{ max_value }}{% endif %}
{% endtest %}
