{#- Helpers of tests/singular/assert_no_raw_personal_data_outside_raw.sql. -#}

{#- The text columns of a relation as (name, text expression) pairs, JSON as its JSON text,
    leaving out the digests of the pseudonymization (student_hash, session_id): hex digits
    that happen to spell a numeric id are chance, not the id. Empty at parse time and in an
    offline compile (no warehouse to ask). -#}
{% macro personal_data_text_columns(relation) -%}
    {%- set texts = [] -%}
    {%- if execute and flags.INTROSPECT -%}
        {%- for column in adapter.get_columns_in_relation(relation) -%}
            {%- if column.name | lower not in ('student_hash', 'session_id') -%}
                {%- if column.dtype | lower == 'json' -%}
                    {%- do texts.append((column.name, json_as_text(column.quoted))) -%}
                {%- elif column.is_string() -%}
                    {%- do texts.append((column.name, column.quoted)) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if texts | length == 0 -%}
        {%- do texts.append(('source_file', 'source_file')) -%}
    {%- endif -%}
    {{ return(texts) }}
{%- endmacro %}

{#- The rows of `relation` (it has source_file and line_number, as written outside raw) of
    its latest write (`written_column`, see latest_write_predicate): the relation's name, the
    lineage, the names of its text columns and all their texts as one string, in that order
    and separated by a character no id holds (an empty text for NULL), so that one search
    covers every column and the columns are named only for the rows found. -#}
{% macro personal_data_texts(relation, written_column) -%}
    {%- set texts = personal_data_text_columns(relation) -%}
    select
        '{{ relation.schema }}.{{ relation.identifier }}' as relation_name,
        source_file,
        line_number,
        '{{ texts | map("first") | join(",") }}' as text_names,
        {{ text_blob(texts | map('last') | list) }} as all_texts
    from {{ relation }}
    where {{ latest_write_predicate(relation, written_column) }}
{%- endmacro %}

{% macro text_blob(texts) -%}
    {{ return(adapter.dispatch('text_blob')(texts)) }}
{%- endmacro %}

{% macro default__text_blob(texts) -%}
    concat({% for text in texts %}coalesce({{ text }}, ''){{ ", '\\x1f', " if not loop.last }}{% endfor %})
{%- endmacro %}

{% macro duckdb__text_blob(texts) -%}
    concat_ws(chr(31), {% for text in texts %}coalesce({{ text }}, ''){{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- The names (comma-separated `names`) of the texts in `all_texts` (see personal_data_texts)
    that hold `student_id` or `ip`, space-separated. -#}
{% macro text_names_holding(names, all_texts, student_id, ip) -%}
    {{ return(adapter.dispatch('text_names_holding')(names, all_texts, student_id, ip)) }}
{%- endmacro %}

{% macro default__text_names_holding(names, all_texts, student_id, ip) -%}
    (
        select string_agg(text_name, ' ' order by name_position)
        from unnest(split({{ names }}, ',')) as text_name with offset as name_position
        inner join unnest(split({{ all_texts }}, '\x1f')) as column_text with offset as text_position
            on name_position = text_position
        where strpos(column_text, {{ student_id }}) > 0 or strpos(column_text, {{ ip }}) > 0
    )
{%- endmacro %}

{% macro duckdb__text_names_holding(names, all_texts, student_id, ip) -%}
    array_to_string(list_transform(
        list_filter(
            list_zip(string_split({{ names }}, ','), string_split({{ all_texts }}, chr(31))),
            lambda named_text: strpos(named_text[2], {{ student_id }}) > 0 or strpos(named_text[2], {{ ip }}) > 0
        ),
        lambda named_text: named_text[1]
    ), ' ')
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
