{#- Mirrors dbt-expectations' expect_column_values_to_match_regex (whole-value match). With
    `latest_write_column`, only the rows the latest run wrote are checked (see
    latest_write_predicate). -#}
{% test expect_column_values_to_match_regex(model, column_name, regex, latest_write_column=none) %}
select {{ column_name }} as non_matching_value
from {{ model }}
where
    {{ column_name }} is not null
    and not {{ regex_full_match(column_name, regex) }}
    {%- if latest_write_column %}
        and {{ latest_write_predicate(model, latest_write_column) }}
    {%- endif %}
{% endtest %}
