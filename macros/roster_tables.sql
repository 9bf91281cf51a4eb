{#- on-run-start: the roster's raw tables exist even before a roster was loaded (`python -m
    ingest roster load` fills them), so a warehouse without one still builds, with empty
    class tables. The same columns the loader writes (ingest/load/roster.py). -#}
{% macro create_roster_tables_if_missing() -%}
    {%- set columns = {
        'roster_schools': ['school_id', 'name'],
        'roster_classes': ['class_id', 'school_id', 'course_id', 'title'],
        'roster_enrollments': ['class_id', 'user_id', 'role'],
    } -%}
    {#- A statement, not adapter.create_schema: compiling offline (BigQuery, --no-introspect)
        must not need a connection. -#}
    {%- set raw_schema = api.Relation.create(database=target.database, schema='raw').include(identifier=false) -%}
    {%- set statements = ['create schema if not exists ' ~ raw_schema] -%}
    {%- for table, names in columns.items() -%}
        {%- set relation = api.Relation.create(database=target.database, schema='raw', identifier=table) -%}
        {%- do statements.append('create table if not exists ' ~ relation ~ ' ('
            ~ (names | join(' ' ~ dbt.type_string() ~ ', ')) ~ ' ' ~ dbt.type_string()
            ~ ', loaded_at ' ~ type_timestamp_tz() ~ ')') -%}
    {%- endfor -%}
    {{ return(statements | join(';\n')) }}
{%- endmacro %}
