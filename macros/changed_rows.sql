{#- The predicate "this upstream row was written after everything already in this model":
    its `upstream_column` is later than the latest `own_column` here. In a full build every
    row qualifies. -#}
{% macro written_since_last_run(upstream_column='updated_at', own_column='updated_at') -%}
    {%- if is_incremental() -%}
        {{ upstream_column }} > (
            select coalesce(max({{ own_column }}), cast('1970-01-01 00:00:00+00:00' as {{ type_timestamp_tz() }}))
            from {{ this }}
        )
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
