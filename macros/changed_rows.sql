{#- The predicate "this row of `upstream` was written after everything already in this
    model": upstream.updated_at is later than this model's latest updated_at. In a full
    build every row qualifies. -#}
{% macro written_since_last_run(updated_at_column='updated_at') -%}
    {%- if is_incremental() -%}
        {{ updated_at_column }} > (select coalesce(max(updated_at), cast('1970-01-01 00:00:00+00:00' as {{ type_timestamp_tz() }})) from {{ this }})
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}
