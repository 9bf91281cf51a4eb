{#- Sums of doubles depend on the order rows are added, and that order differs between a
    full build and an incremental one (and between parallel runs). Summing as a 38-digit
    decimal with 9 fraction digits is exact for our values (seconds with microseconds,
    ratios), so every build gives the same bits. Use for every SUM and AVG of a double; `over` names a window. -#}
{% macro exact_sum(expr, over=none) -%}
    {{ return(adapter.dispatch('exact_sum')(expr, over)) }}
{%- endmacro %}

{% macro default__exact_sum(expr, over) -%}
    cast({{ default__exact_partial_sum(expr) }}{{ ' over ' ~ over if over }} as float64)
{%- endmacro %}

{% macro duckdb__exact_sum(expr, over) -%}
    cast({{ duckdb__exact_partial_sum(expr) }}{{ ' over ' ~ over if over }} as double)
{%- endmacro %}

{#- The exact average: exact_sum over the count of non-NULL values, NULL when there are none. -#}
{% macro exact_avg(expr) -%}
    ({{ exact_sum(expr) }} / nullif(count({{ expr }}), 0))
{%- endmacro %}

{#- The exact sum kept exact (decimal), for partial sums that a later model adds up with
    exact_sum: the total is the same as one exact_sum over every value. -#}
{% macro exact_partial_sum(expr) -%}
    {{ return(adapter.dispatch('exact_partial_sum')(expr)) }}
{%- endmacro %}

{% macro default__exact_partial_sum(expr) -%}
    sum(cast({{ expr }} as bignumeric))
{%- endmacro %}

{% macro duckdb__exact_partial_sum(expr) -%}
    sum(cast({{ expr }} as decimal(38, 9)))
{%- endmacro %}
