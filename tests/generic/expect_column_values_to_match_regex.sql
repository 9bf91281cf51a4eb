{#- Mirrors dbt-expectations' expect_column_values_to_match_regex (whole-value match). -#}
{% test expect_column_values_to_match_regex(model, column_name, regex) %}
select {{ column_name }} as non_matching_value
from {{ model }}
where
    {{ column_name }} is not null
    and not {{ regex_full_match(column_name, regex) }}
{% endtest %}
