{#- Pseudonymization (metrics.md): lowercase hex SHA-256 of salt || ':' || student_id.

    The salt is a secret, so it never passes through Jinja: compiled SQL, dbt's artifacts and
    logs only ever hold an expression that reads it inside the warehouse.
    - DuckDB: ingest/warehouse/dbt_plugin.py reads STUDENT_HASH_SALT (or the public demo salt when it is
      unset) in Python and binds it into the session variable `student_hash_salt` of every
      connection dbt opens; SQL reads getvariable('student_hash_salt').
    - BigQuery has no connection-time variables in dbt: the salt is the one row of a table
      created outside dbt in a dataset only the pipeline's account can read (var
      bigquery_salt_table, default restricted.student_hash_salt), read by a scalar subquery.
    Without a salt the expression raises an error rather than hashing without one.
    check_student_hash_salt() (macros/student_hash_salt_checks.sql) checks the salt on-run-start. -#}

{% macro student_hash(student_id) -%}
    {{ sha256_hex("concat(" ~ student_hash_salt() ~ ", ':', " ~ student_id ~ ")") }}
{%- endmacro %}

{#- Lowercase hex SHA-256 of a text expression. -#}
{% macro sha256_hex(expr) -%}
    {{ return(adapter.dispatch('sha256_hex')(expr)) }}
{%- endmacro %}

{% macro default__sha256_hex(expr) -%}
    lower(to_hex(sha256({{ expr }})))
{%- endmacro %}

{% macro duckdb__sha256_hex(expr) -%}
    sha256({{ expr }})
{%- endmacro %}

{#- An SQL expression whose value is the salt; an error when there is none. -#}
{% macro student_hash_salt() -%}
    {{ return("coalesce(" ~ student_hash_salt_value() ~ ", error("
        ~ sql_string_literal('no student hash salt: set ' ~ student_hash_salt_source()) ~ "))") }}
{%- endmacro %}

{#- The salt as the warehouse sees it (NULL when there is none). -#}
{% macro student_hash_salt_value() -%}
    {{ return(adapter.dispatch('student_hash_salt_value')()) }}
{%- endmacro %}

{% macro default__student_hash_salt_value() -%}
    {{ return('(select salt from ' ~ student_hash_salt_table() ~ ')') }}
{%- endmacro %}

{% macro duckdb__student_hash_salt_value() -%}
    {{ return("getvariable('student_hash_salt')") }}
{%- endmacro %}

{#- Where the salt comes from, for messages. -#}
{% macro student_hash_salt_source() -%}
    {{ return(adapter.dispatch('student_hash_salt_source')()) }}
{%- endmacro %}

{% macro default__student_hash_salt_source() -%}
    {{ return('the one row of the salt table ' ~ student_hash_salt_table() | replace('`', '')) }}
{%- endmacro %}

{% macro duckdb__student_hash_salt_source() -%}
    {{ return('STUDENT_HASH_SALT') }}
{%- endmacro %}

{#- BigQuery's salt table, `project`.`dataset`.`table` (the target's project by default). -#}
{% macro student_hash_salt_table() -%}
    {%- set parts = project_var('bigquery_salt_table').split('.') -%}
    {%- if parts | length == 2 -%}
        {%- set parts = [target.database] + parts -%}
    {%- endif -%}
    {{ return(api.Relation.create(database=parts[0], schema=parts[1], identifier=parts[2])) }}
{%- endmacro %}
