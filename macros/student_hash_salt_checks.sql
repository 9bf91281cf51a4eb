{#- The salt rules of metrics.md (Pseudonymization), checked on-run-start before anything is
    built, from facts the warehouse computes about the salt (never the salt itself):
    - no salt at all: refused;
    - the public demo salt: a warning on every run, refused on a target marked production
      (var `production`, from DBT_PRODUCTION; see dbt_project.yml);
    - any other salt shorter than 32 characters: refused;
    - a salt whose fingerprint differs from the one the warehouse was built with: refused,
      unless the run rebuilds every model from scratch (dbt build --full-refresh, no selection).
    The fingerprint, sha256 of a fixed prefix and the salt, lives in
    ops.student_hash_salt_fingerprint (one row: fingerprint, state, recorded_at). state is
    `rebuilding` while a full refresh under a new salt has not yet finished every model, and
    `complete` after; only then do ordinary runs go on. A refusal is a failing statement,
    which stops the run with exit code 1 and skips every node. -#}

{% macro demo_student_hash_salt() -%}
    {{ return('student-behavior-demo-salt') }}
{%- endmacro %}

{% macro minimum_student_hash_salt_length() -%}
    {{ return(32) }}
{%- endmacro %}

{% macro salt_fingerprint_relation() -%}
    {{ return(api.Relation.create(database=target.database, schema='ops', identifier='student_hash_salt_fingerprint')) }}
{%- endmacro %}

{#- True in a command that runs the on-run hooks; other commands (compile, docs generate,
    show) render them too, but must neither query nor write. -#}
{% macro runs_hooks() -%}
    {{ return(execute and flags.WHICH in ('build', 'run', 'seed', 'snapshot', 'test', 'retry', 'freshness')) }}
{%- endmacro %}

{% macro check_student_hash_salt() -%}
    {%- if not runs_hooks() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set setup_problem = student_hash_salt_setup_problem() -%}
    {%- if setup_problem -%}
        {{ return(fail_run_sql(setup_problem)) }}
    {%- endif -%}
    {%- set facts_query -%}
        select
            count(salt) as salts,
            coalesce(max(length(salt)), 0) as salt_length,
            coalesce(max(case when salt = {{ sql_string_literal(demo_student_hash_salt()) }} then 1 else 0 end), 0) as is_demo,
            max({{ sha256_hex("concat('student_behavior salt fingerprint v1:', salt)") }}) as fingerprint
        from ({{ student_hash_salt_rows() }}) as salt_source
    {%- endset -%}
    {%- set facts = run_query(facts_query).rows[0] -%}
    {%- set set_it = 'set ' ~ student_hash_salt_source() ~ ' to a secret of at least '
        ~ minimum_student_hash_salt_length() ~ " characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'" -%}
    {%- if facts['salts'] == 0 -%}
        {{ return(fail_run_sql('No student hash salt reaches the warehouse: ' ~ set_it ~ '.')) }}
    {%- elif facts['salts'] > 1 -%}
        {{ return(fail_run_sql('The salt table ' ~ student_hash_salt_source() ~ ' holds ' ~ facts['salts']
            ~ ' salts: it must hold exactly one row.')) }}
    {%- elif facts['is_demo'] == 1 and project_var('production') -%}
        {{ return(fail_run_sql("Target '" ~ target.name ~ "' is marked production (var production, DBT_PRODUCTION=true) "
            ~ 'and refuses the public demo salt: ' ~ set_it ~ '.')) }}
    {%- elif facts['is_demo'] == 1 -%}
        {%- do exceptions.warn('WARNING: DEMO SALT: student_hash uses the public demo salt ' ~ demo_student_hash_salt()
            ~ ', so anyone can reverse every hash of an id like s-1234567 in seconds. Fine for sample data only; for real data '
            ~ set_it ~ '.') -%}
    {%- elif facts['salt_length'] < minimum_student_hash_salt_length() -%}
        {{ return(fail_run_sql('The student hash salt has ' ~ facts['salt_length'] ~ ' characters, fewer than '
            ~ minimum_student_hash_salt_length() ~ ': ' ~ set_it ~ '.')) }}
    {%- endif -%}
    {{ return(check_salt_fingerprint(facts['fingerprint'])) }}
{%- endmacro %}

{#- The rows holding the salt (column `salt`): one, or none when no salt is set. -#}
{% macro student_hash_salt_rows() -%}
    {{ return(adapter.dispatch('student_hash_salt_rows')()) }}
{%- endmacro %}

{% macro default__student_hash_salt_rows() -%}
    {{ return('select salt from ' ~ student_hash_salt_table()) }}
{%- endmacro %}

{% macro duckdb__student_hash_salt_rows() -%}
    {{ return('select ' ~ student_hash_salt_value() ~ ' as salt') }}
{%- endmacro %}

{#- What keeps the salt from reaching SQL at all, or none. -#}
{% macro student_hash_salt_setup_problem() -%}
    {{ return(adapter.dispatch('student_hash_salt_setup_problem')()) }}
{%- endmacro %}

{% macro default__student_hash_salt_setup_problem() -%}
    {%- set table = student_hash_salt_table() -%}
    {%- if adapter.get_relation(database=table.database, schema=table.schema, identifier=table.identifier) is none -%}
        {{ return('The salt table ' ~ student_hash_salt_source() ~ ' does not exist. Create it outside dbt, in a dataset '
            ~ "only the pipeline's service account can read: create table " ~ table ~ ' (salt string), then insert one '
            ~ 'row holding a secret of at least ' ~ minimum_student_hash_salt_length() ~ ' characters (var bigquery_salt_table names another table).') }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{% macro duckdb__student_hash_salt_setup_problem() -%}
    {%- if run_query('select ' ~ student_hash_salt_value() ~ ' is null').columns[0].values()[0] -%}
        {{ return("This connection has no student hash salt: the target's profile must list the plugin "
            ~ 'ingest.warehouse.dbt_plugin (see profiles/profiles.yml), which binds STUDENT_HASH_SALT to every connection.') }}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- True when this run rebuilds every model of the project from scratch. -#}
{% macro rebuilds_every_model() -%}
    {%- if not flags.FULL_REFRESH -%}
        {{ return(false) }}
    {%- endif -%}
    {%- for node in graph.nodes.values() if node.resource_type == 'model' and node.unique_id not in selected_resources -%}
        {{ return(false) }}
    {%- endfor -%}
    {{ return(true) }}
{%- endmacro %}

{% macro check_salt_fingerprint(fingerprint) -%}
    {%- set relation = salt_fingerprint_relation() -%}
    {%- set full_refresh_fix = 'run `dbt build --full-refresh` (without a selection) to rebuild every model under the current salt' -%}
    {%- set recorded = none -%}
    {%- if adapter.get_relation(database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
        {%- set rows = run_query('select fingerprint, state, recorded_at from ' ~ relation).rows -%}
        {%- set recorded = rows[0] if rows | length > 0 else none -%}
    {%- endif -%}
    {%- if recorded is none -%}
        {%- set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | list -%}
        {%- set built = [] -%}
        {%- for node in models if adapter.get_relation(database=node.database, schema=node.schema, identifier=node.alias) -%}
            {%- do built.append(node.name) -%}
        {%- endfor -%}
        {%- if not built -%}
            {%- if models | selectattr('unique_id', 'in', selected_resources) | list -%}
                {%- do record_salt_fingerprint(fingerprint, 'complete') -%}
            {%- endif -%}
        {%- elif rebuilds_every_model() -%}
            {%- do record_salt_fingerprint(fingerprint, 'rebuilding') -%}
        {%- else -%}
            {{ return(fail_run_sql('This warehouse holds models (' ~ built[:3] | join(', ') ~ ', ...) but no fingerprint of '
                ~ 'the salt they were built with (' ~ relation ~ ' is missing or empty), so a different salt would give '
                ~ 'each student a second hash: ' ~ full_refresh_fix ~ ' and record its fingerprint.')) }}
        {%- endif -%}
    {%- elif recorded['fingerprint'] == fingerprint -%}
        {%- if recorded['state'] != 'complete' and not rebuilds_every_model() -%}
            {{ return(fail_run_sql('A full refresh under this salt, started at ' ~ recorded['recorded_at']
                ~ ', has not finished every model, so the warehouse still mixes hashes of two salts: ' ~ full_refresh_fix ~ '.')) }}
        {%- endif -%}
    {%- elif rebuilds_every_model() -%}
        {%- do log('Student hash salt changed (fingerprint ' ~ recorded['fingerprint'][:12] ~ '... -> ' ~ fingerprint[:12]
            ~ '...): this full refresh rebuilds every model under the new salt.', info=True) -%}
        {%- do record_salt_fingerprint(fingerprint, 'rebuilding') -%}
    {%- else -%}
        {{ return(fail_run_sql('The student hash salt differs from the one this warehouse was built with (salt fingerprint '
            ~ fingerprint[:12] ~ '..., recorded ' ~ recorded['fingerprint'][:12] ~ '... in ' ~ relation ~ ' at '
            ~ recorded['recorded_at'] ~ '); building on would give each student a second hash. Either set '
            ~ student_hash_salt_source() ~ ' back to the salt of this warehouse, or ' ~ full_refresh_fix ~ '.')) }}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}

{% macro record_salt_fingerprint(fingerprint, state) -%}
    {%- set relation = salt_fingerprint_relation() -%}
    {%- do adapter.create_schema(relation) -%}
    {%- do run_query('create table if not exists ' ~ relation ~ ' (fingerprint ' ~ dbt.type_string()
        ~ ', state ' ~ dbt.type_string() ~ ', recorded_at ' ~ type_timestamp_tz() ~ ')') -%}
    {#- One statement list, so the old row never goes without the new one. -#}
    {%- do run_query(snapshot_commit_message(relation) ~ '; delete from ' ~ relation ~ ' where true; '
        ~ 'insert into ' ~ relation ~ ' (fingerprint, state, recorded_at) values ('
        ~ sql_string_literal(fingerprint) ~ ', ' ~ sql_string_literal(state) ~ ', ' ~ run_started_at_literal() ~ ')') -%}
{%- endmacro %}

{#- on-run-end: a full refresh under a new salt that built every model marks the fingerprint
    complete; until then ordinary runs refuse to build on the mixed warehouse. -#}
{% macro finish_salt_fingerprint() -%}
    {%- if not runs_hooks() or not rebuilds_every_model() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set models = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model') | list -%}
    {%- set built = results | selectattr('node.resource_type', 'equalto', 'model') | selectattr('status', 'equalto', 'success') | list -%}
    {%- if built | length == models | length -%}
        {%- do run_query("update " ~ salt_fingerprint_relation() ~ " set state = 'complete' where state = 'rebuilding'") -%}
    {%- endif -%}
    {{ return('') }}
{%- endmacro %}
