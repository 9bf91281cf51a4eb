{#- Event time handling: ISO 8601 parsing, reporting dates, session ids, durations. -#}

{#- ISO 8601 date-time with an optional offset (`Z`, `+02:00`, `+0200`, `+02`); no offset
    means UTC. Anything else, including epoch numbers and date-only text, is not accepted. -#}
{% macro iso_timestamp_pattern() -%}
    {{- return("[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.,][0-9]{1,9})?)?([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?") -}}
{%- endmacro %}

{% macro parse_event_timestamp(text) -%}
    {{ return(adapter.dispatch('parse_event_timestamp')(text)) }}
{%- endmacro %}

{% macro default__parse_event_timestamp(text) -%}
    case when {{ regex_full_match(text, iso_timestamp_pattern()) }}
        then safe_cast(replace(upper({{ text }}), ',', '.') as timestamp) end
{%- endmacro %}

{% macro duckdb__parse_event_timestamp(text) -%}
    {#- A naive time is read as UTC, whatever the session's time zone. DuckDB 1.5 does not
        read a time without seconds that has an offset (`2025-11-15T08:31Z`), so seconds
        are added where the 17th character is not the `:` before them. -#}
    {%- set with_seconds = "case when substr(" ~ text ~ ", 17, 1) = ':' then " ~ text
        ~ " else concat(left(" ~ text ~ ", 16), ':00', substr(" ~ text ~ ", 17)) end" -%}
    case
        when not {{ regex_full_match(text, iso_timestamp_pattern()) }} then null
        when regexp_matches({{ text }}, '([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)$')
            then try_cast(replace(upper({{ with_seconds }}), ',', '.') as timestamptz)
        else timezone('UTC', try_cast(replace(upper({{ with_seconds }}), ',', '.') as timestamp))
    end
{%- endmacro %}

{% macro to_reporting_date(ts) -%}
    {{ return(adapter.dispatch('to_reporting_date')(ts)) }}
{%- endmacro %}

{% macro default__to_reporting_date(ts) -%}
    date({{ ts }}, {{ sql_string_literal(project_var('reporting_timezone')) }})
{%- endmacro %}

{% macro duckdb__to_reporting_date(ts) -%}
    cast(timezone({{ sql_string_literal(project_var('reporting_timezone')) }}, {{ ts }}) as date)
{%- endmacro %}

{#- Fractional seconds from `start` to `end`. -#}
{% macro seconds_between(start, end) -%}
    {{ return(adapter.dispatch('seconds_between')(start, end)) }}
{%- endmacro %}

{% macro default__seconds_between(start, end) -%}
    (timestamp_diff({{ end }}, {{ start }}, microsecond) / 1000000.0)
{%- endmacro %}

{% macro duckdb__seconds_between(start, end) -%}
    ((epoch_us({{ end }}) - epoch_us({{ start }})) / 1000000.0)
{%- endmacro %}

{#- session_id (metrics.md): md5 of student_hash || ':' || start as YYYY-MM-DDTHH:MM:SS.ffffff in UTC. -#}
{% macro session_id(student_hash, session_start) -%}
    {{ return(adapter.dispatch('session_id')(student_hash, session_start)) }}
{%- endmacro %}

{% macro default__session_id(student_hash, session_start) -%}
    to_hex(md5(concat({{ student_hash }}, ':', format_timestamp('%Y-%m-%dT%H:%M:%E6S', {{ session_start }}, 'UTC'))))
{%- endmacro %}

{% macro duckdb__session_id(student_hash, session_start) -%}
    md5(concat({{ student_hash }}, ':', strftime(timezone('UTC', {{ session_start }}), '%Y-%m-%dT%H:%M:%S.%f')))
{%- endmacro %}
