{#- Mirrors dbt-expectations' expect_column_values_to_be_between: every non-NULL value
    lies in [min_value, max_value] (either bound optional; `strictly` excludes the bounds). -#}
{% test expect_column_values_to_be_between(model, column_name, min_value=none, max_value=none, strictly=false) %}
{%- set lower_op = '<=' if strictly else '<' -%}
{%- set upper_op = '>=' if strictly else '>' -%}
select {{ column_name }} as out_of_range_value
from {{ model }}
where
    {{ column_name }} is not null
    and (
        false
        {%- if min_value is not none %} or {{ column_name }} {{ lower_op }} {{ min_value }}{% endif %}
        {%- if max_value is not none %} or {{ column_name }} {{ upper_op }} {{ max_value }}{% endif %}
    )
{% endtest %}
