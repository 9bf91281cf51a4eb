{#- The right to erasure (`python -m ingest forget`, ingest/warehouse/erasure.py): ops.erasures
    lists each erased student by a one-way digest of their hash (never the hash, never the id),
    and staging drops every record whose hash has a digest there, so reprocessing a raw file
    that still held an erased student never brings them back. -#}

{#- The digest of a student hash expression; ingest/warehouse/erasure.py computes the same. -#}
{% macro erasure_digest(student_hash) -%}
    {{ sha256_hex("concat('erasure:', " ~ student_hash ~ ")") }}
{%- endmacro %}

{#- on-run-start: ops.erasures exists before staging reads it. Statements, not
    adapter.create_schema: compiling offline (BigQuery, --no-introspect) needs no connection. -#}
{% macro create_erasures_table_if_missing() -%}
    {%- set ops_schema = api.Relation.create(database=target.database, schema='ops').include(identifier=false) -%}
    {%- set relation = api.Relation.create(database=target.database, schema='ops', identifier='erasures') -%}
    {{ return('create schema if not exists ' ~ ops_schema ~ ';\n'
        ~ 'create table if not exists ' ~ relation ~ ' (hash_digest ' ~ dbt.type_string()
        ~ ', erased_at ' ~ type_timestamp_tz() ~ ', reason ' ~ dbt.type_string() ~ ')') }}
{%- endmacro %}

{#- True when the student hash expression names no erased student. -#}
{% macro not_erased(student_hash) -%}
    {#- Uncorrelated, so it is one hash join against the few erased digests; the correlated
        `not exists` made DuckDB 1.5 buffer every staged row (40 s of 200 at 10M events). -#}
    {{ erasure_digest(student_hash) }} not in (
        select erasures.hash_digest from {{ source('ops', 'erasures') }} as erasures
        where erasures.hash_digest is not null
    )
{%- endmacro %}
