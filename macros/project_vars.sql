{#- The project's dbt vars (dbt_project.yml), read through project_var(), which checks a var
    and returns a clean value (a real int, bool, date text or zone name), so nothing a user
    typed reaches SQL unchecked; a value that does reach SQL as text goes through
    sql_string_literal(). validate_vars() runs every check once, on-run-start, so a bad var
    stops the run before any model or unit test runs, with a message naming the var and the
    fix. -#}

{#- Each var and what it must be. -#}
{% macro project_var_kinds() -%}
    {{- return({
        'reporting_timezone': 'timezone',
        'session_inactivity_minutes': 'positive_integer',
        'max_future_hours': 'positive_integer',
        'redaction_max_depth': 'positive_integer',
        'check_all_rows': 'boolean',
        'production': 'boolean',
        'start_date': 'date',
        'end_date': 'date',
        'bigquery_salt_table': 'table_name',
    }) -}}
{%- endmacro %}

{#- The clean value of a var; a compilation error naming the var and the fix when it is bad.
    While dbt parses (execute is false) a bad var gives a stand-in of its kind instead, so
    that validate_vars() reports it on-run-start, with exit code 1 rather than a parse error. -#}
{% macro project_var(name) -%}
    {%- set checked = check_project_var(name) -%}
    {%- if checked.error and not execute -%}
        {{- return({'positive_integer': 1, 'boolean': false, 'timezone': 'UTC'}.get(project_var_kinds()[name])) -}}
    {%- elif checked.error -%}
        {{- exceptions.raise_compiler_error(checked.error) -}}
    {%- endif -%}
    {{- return(checked.value) -}}
{%- endmacro %}

{#- The backfill range [start_date, end_date] as two YYYY-MM-DD texts, or none. -#}
{% macro backfill_dates() -%}
    {%- set checked = check_backfill_dates() -%}
    {%- if checked.error and execute -%}
        {{- exceptions.raise_compiler_error(checked.error) -}}
    {%- endif -%}
    {{- return(checked.value) -}}
{%- endmacro %}

{#- on-run-start: every var at once. A failing run-start hook statement stops the run with
    exit code 1 and skips every node (a compilation error in a hook would be exit code 2). -#}
{% macro validate_vars() -%}
    {%- set errors = [] -%}
    {%- for name in project_var_kinds() -%}
        {%- set checked = check_project_var(name) -%}
        {%- if checked.error -%}
            {%- do errors.append(checked.error) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if not errors -%}
        {%- set backfill = check_backfill_dates() -%}
        {%- if backfill.error -%}
            {%- do errors.append(backfill.error) -%}
        {%- endif -%}
    {%- endif -%}
    {%- if errors -%}
        {{- return(fail_run_sql(errors | join('\n'))) -}}
    {%- endif -%}
    {{- return('') -}}
{%- endmacro %}

{#- A statement that fails with `message` when the warehouse runs it. -#}
{% macro fail_run_sql(message) -%}
    {{- return('select error(' ~ sql_string_literal(message) ~ ')') -}}
{%- endmacro %}

{#- {value, error}: error is none or a message naming the var, its value and the fix. -#}
{% macro check_project_var(name) -%}
    {%- set kind = project_var_kinds()[name] -%}
    {%- set value = var(name, none) -%}
    {%- set text = value | string -%}
    {%- if kind == 'positive_integer' -%}
        {#- An int, or text of digits (as an environment variable gives it); the cap keeps every
            interval the models build from it within 32 bits. -#}
        {%- if value is not boolean and (value is integer or (value is string and modules.re.fullmatch('[0-9]{1,10}', text)))
            and 1 <= (text | int) <= 2147483647 -%}
            {{- return({'value': text | int, 'error': none}) -}}
        {%- endif -%}
        {%- set expected, fix = 'a whole number from 1 to 2147483647', "--vars '{" ~ name ~ ": 30}'" -%}
    {%- elif kind == 'boolean' -%}
        {%- if value is boolean -%}
            {{- return({'value': value, 'error': none}) -}}
        {%- elif value is string and value | lower in ('true', 'false') -%}
            {{- return({'value': value | lower == 'true', 'error': none}) -}}
        {%- endif -%}
        {%- set expected, fix = 'true or false', "--vars '{" ~ name ~ ": true}'" -%}
    {%- elif kind == 'table_name' -%}
        {#- dataset.table or project.dataset.table: names only, never SQL. -#}
        {%- if value is string and modules.re.fullmatch('([A-Za-z0-9_-]+[.])?[A-Za-z0-9_]+[.][A-Za-z0-9_]+', value) -%}
            {{- return({'value': value, 'error': none}) -}}
        {%- endif -%}
        {%- set expected, fix = 'a table name dataset.table or project.dataset.table', "--vars '{" ~ name ~ ": restricted.student_hash_salt}'" -%}
    {%- elif kind == 'timezone' -%}
        {%- if value is string and value in modules.pytz.all_timezones_set -%}
            {{- return({'value': value, 'error': none}) -}}
        {%- endif -%}
        {%- set expected, fix = 'an IANA time zone name (case-sensitive)', "--vars '{" ~ name ~ ": Europe/Paris}'" -%}
    {%- elif kind == 'date' -%}
        {#- YAML reads an unquoted 2025-11-01 as a date, which prints as the same text. -#}
        {%- if value is none or value == '' -%}
            {{- return({'value': none, 'error': none}) -}}
        {%- endif -%}
        {%- set parts = modules.re.fullmatch('([0-9]{4})-([0-9]{2})-([0-9]{2})', text) -%}
        {%- if parts -%}
            {%- set year, month, day = parts.group(1) | int, parts.group(2) | int, parts.group(3) | int -%}
            {%- set leap = (year % 4 == 0 and year % 100 != 0) or year % 400 == 0 -%}
            {%- set month_days = [31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] -%}
            {%- if year >= 1 and 1 <= month <= 12 and 1 <= day <= month_days[month - 1] -%}
                {{- return({'value': text, 'error': none}) -}}
            {%- endif -%}
        {%- endif -%}
        {%- set expected, fix = 'a calendar date written YYYY-MM-DD', "--vars '{start_date: 2025-11-01, end_date: 2025-11-07}'" -%}
    {%- endif -%}
    {{- return({'value': none, 'error':
        "Invalid dbt var " ~ name ~ " = " ~ ("%r" | format(value)) ~ ": expected " ~ expected ~ ". Fix: " ~ fix
        ~ " (defaults are in dbt_project.yml)."}) -}}
{%- endmacro %}

{#- Both dates or neither, and start_date <= end_date (one day: the same date twice). -#}
{% macro check_backfill_dates() -%}
    {%- set start_date = project_var('start_date') -%}
    {%- set end_date = project_var('end_date') -%}
    {%- set fix = " Fix: give both, e.g. --vars '{start_date: 2025-11-01, end_date: 2025-11-07}' (one day: the same date twice), or neither." -%}
    {%- if start_date is none and end_date is none -%}
        {{- return({'value': none, 'error': none}) -}}
    {%- elif start_date is none or end_date is none -%}
        {{- return({'value': none, 'error': "Invalid dbt vars: start_date and end_date go together, but only "
            ~ ('start_date' if end_date is none else 'end_date') ~ " is set." ~ fix}) -}}
    {%- elif start_date > end_date -%}
        {{- return({'value': none, 'error': "Invalid dbt vars: start_date " ~ start_date
            ~ " is after end_date " ~ end_date ~ "." ~ fix}) -}}
    {%- endif -%}
    {{- return({'value': [start_date, end_date], 'error': none}) -}}
{%- endmacro %}

{#- Any text as a SQL string literal, quotes and backslashes escaped for the engine. -#}
{% macro sql_string_literal(value) -%}
    {{ return(adapter.dispatch('sql_string_literal')(value | string)) }}
{%- endmacro %}

{#- GoogleSQL: backslash escapes, and a quoted string cannot span lines. -#}
{% macro default__sql_string_literal(value) -%}
    {{- return("'" ~ value.replace('\\', '\\\\').replace("'", "\\'").replace('\n', '\\n').replace('\r', '\\r') ~ "'") -}}
{%- endmacro %}

{#- DuckDB: standard SQL strings, where only the quote is special (doubled). -#}
{% macro duckdb__sql_string_literal(value) -%}
    {{- return("'" ~ value.replace("'", "''") ~ "'") -}}
{%- endmacro %}
