{#- Pseudonymization (metrics.md): lowercase hex SHA-256 of salt || ':' || student_id. -#}

{% macro student_hash_salt() -%}
    {%- set salt = env_var('STUDENT_HASH_SALT', '') -%}
    {%- if salt == '' and target.type == 'duckdb' -%}
        {#- The documented demo salt, for the local DuckDB target only. -#}
        {%- set salt = 'student-behavior-demo-salt' -%}
    {%- elif salt == '' and execute -%}
        {{ exceptions.raise_compiler_error("STUDENT_HASH_SALT is not set: target '" ~ target.name ~ "' needs a secret salt to pseudonymize student ids.") }}
    {%- endif -%}
    {{- return(salt) -}}
{%- endmacro %}

{% macro student_hash(student_id) -%}
    {{ return(adapter.dispatch('student_hash')(student_id)) }}
{%- endmacro %}

{% macro default__student_hash(student_id) -%}
    lower(to_hex(sha256(concat({{ dbt.string_literal(student_hash_salt()) }}, ':', {{ student_id }}))))
{%- endmacro %}

{% macro duckdb__student_hash(student_id) -%}
    sha256(concat({{ dbt.string_literal(student_hash_salt()) }}, ':', {{ student_id }}))
{%- endmacro %}
