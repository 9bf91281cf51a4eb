{#- difficulty_estimate (metrics.md): the Laplace-smoothed error rate, one imagined right and
    one wrong answer per question, so a question nobody answered is 0.5 and one right answer
    is not "never missed". -#}
{% macro smoothed_difficulty(correct_count, attempts_count) -%}
    1 - ({{ correct_count }} + 1) / cast({{ attempts_count }} + 2 as {{ type_double() }})
{%- endmacro %}
