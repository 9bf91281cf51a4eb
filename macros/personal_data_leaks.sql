{#- Helpers of tests/singular/assert_no_raw_personal_data_outside_raw.sql. -#}

{#- The text columns of a relation, each as text (JSON as its JSON text), leaving out the
    digests of the pseudonymization (student_hash, session_id): hex digits that happen to
    spell a numeric id are chance, not the id. Empty at parse time and in an offline compile
    (no warehouse to ask). -#}
{% macro personal_data_text_columns(relation) -%}
    {%- set texts = [] -%}
    {%- if execute and flags.INTROSPECT -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name | lower not in ('student_hash', 'session_id') -%}
                {%- if column.dtype | lower == 'json' -%}
                    {%- do texts.append((column.name, json_as_text('checked_rows.' ~ column.quoted))) -%}
                {%- elif column.is_string() -%}
                    {%- do texts.append((column.name, 'checked_rows.' ~ column.quoted)) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(texts) }}
{%- endmacro %}

{#- Rows of `relation` (which has source_file and line_number, as written outside raw) of
    the latest write (`written_column`, see latest_write_predicate) holding their own
    record's raw student_id or ip (CTE `owners`: lineage and the ids to look for) in a text
    column or at any depth of a JSON one: the relation, lineage and the columns that hold
    them. All text columns are searched at once as one string; the columns are named only
    for the rows found. -#}
{% macro personal_data_leaks(relation, written_column) -%}
    {%- set texts = personal_data_text_columns(relation) -%}
    {%- if texts | length == 0 -%}
        {%- set texts = [('source_file', 'checked_rows.source_file')] -%}
    {%- endif -%}
    select
        '{{ relation.schema }}.{{ relation.identifier }}' as relation_name,
        source_file,
        line_number,
        concat(
            {%- for name, _ in texts %}
            case
                when strpos(text_{{ loop.index }}, owner_student_id) > 0 or strpos(text_{{ loop.index }}, owner_ip) > 0
                    then '{{ name }} '
                else ''
            end{{ ',' if not loop.last }}
            {%- endfor %}
        ) as columns
    from (
        select
            checked_rows.source_file,
            checked_rows.line_number,
            owners.student_id as owner_student_id,
            owners.ip as owner_ip,
            {%- for _, text in texts %}
            {{ text }} as text_{{ loop.index }},
            {%- endfor %}
            {{ text_blob(texts | map('last') | list) }} as all_texts
        from {{ relation }} as checked_rows
        inner join owners
            on
                checked_rows.source_file = owners.source_file
                and checked_rows.line_number = owners.line_number
        where {{ latest_write_predicate(relation, written_column) }}
    ) as row_texts
    where strpos(all_texts, owner_student_id) > 0 or strpos(all_texts, owner_ip) > 0
{%- endmacro %}

{#- The texts joined into one string, with a separator no id contains. -#}
{% macro text_blob(texts) -%}
    {{ return(adapter.dispatch('text_blob')(texts)) }}
{%- endmacro %}

{% macro default__text_blob(texts) -%}
    array_to_string([{{ texts | join(', ') }}], '\x1f')
{%- endmacro %}

{% macro duckdb__text_blob(texts) -%}
    concat_ws(chr(31), {{ texts | join(', ') }})
{%- endmacro %}

{#- The value of `key_pattern` (a regex, case-insensitive) in text that may not be valid JSON
    (single quotes, truncated, `key=value`): the characters after the key up to a quote,
    comma, bracket or space; '' when there is none. Quotes are spelled \x22 and \x27 so the
    pattern fits any SQL string literal. -#}
{% macro loose_json_value(text, key_pattern) -%}
    {%- set pattern -%}
        (?i)(?:^|[^[:alnum:]_])[\x22\x27]?(?:{{ key_pattern }})[\x22\x27]?[[:space:]]*[:=][[:space:]]*[\x22\x27]?([^\x22\x27,}\]\[[:space:]]+)
    {%- endset -%}
    {{ return(adapter.dispatch('loose_json_value')(text, pattern)) }}
{%- endmacro %}

{% macro default__loose_json_value(text, pattern) -%}
    coalesce(regexp_extract({{ text }}, r'{{ pattern }}'), '')
{%- endmacro %}

{% macro duckdb__loose_json_value(text, pattern) -%}
    regexp_extract({{ text }}, '{{ pattern }}', 1)
{%- endmacro %}
