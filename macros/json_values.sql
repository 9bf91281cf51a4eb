{#- JSON access, which every engine spells differently.

    `json_object_fields(text_or_json, keys)` parses once and returns a struct with one JSON
    value per top-level key (NULL when the key is absent or the input is not a JSON object;
    for text input, NULL when it is not valid JSON). The other macros read one such value:
    `json_kind` answers string, number, boolean, null, object, array (NULL when absent),
    `json_text` gives strings unquoted and anything else as JSON text. -#}

{% macro json_object_fields(value, keys, from_text=true) -%}
    {{ return(adapter.dispatch('json_object_fields')(value, keys, from_text)) }}
{%- endmacro %}

{% macro default__json_object_fields(value, keys, from_text) -%}
    {%- set doc = 'safe.parse_json(' ~ value ~ ')' if from_text else value -%}
    case when json_type({{ doc }}) = 'object' then struct(
        {%- for key in keys %}
        json_query({{ doc }}, '$.{{ key }}') as {{ key }}{{ "," if not loop.last }}
        {%- endfor %}
    ) end
{%- endmacro %}

{% macro duckdb__json_object_fields(value, keys, from_text) -%}
    {%- set spec = '{' ~ (keys | map('tojson') | join(': "JSON", ')) ~ ': "JSON"}' -%}
    {%- if from_text -%}
    {#- Valid JSON that starts with `{` is an object; `try` turns invalid JSON into NULL.
        DuckDB's reader also accepts the non-JSON numbers NaN and Infinity: refuse them. -#}
    case
        when ltrim({{ value }}, concat(' ', chr(9), chr(10), chr(13))) not like '{{ "{%" }}' then null
        {#- A failing row inside `try` sends its whole vector down a row-by-row path (5x slower
            with 1% bad lines); json_valid, which parses without building, keeps errors out. #}
        when not json_valid({{ value }}) then null
        when
            (contains({{ value }}, 'NaN') or contains({{ value }}, 'Infinity'))
            and regexp_matches({{ value }}, '[:\[,][[:space:]]*-?(NaN|Infinity)[[:space:]]*[,}\]]')
            then null
        else try(json_transform({{ value }}, '{{ spec }}'))
    end
    {%- else -%}
    case when json_type({{ value }}) = 'OBJECT' then json_transform({{ value }}, '{{ spec }}') end
    {%- endif -%}
{%- endmacro %}

{% macro json_kind(value) -%}
    {{ return(adapter.dispatch('json_kind')(value)) }}
{%- endmacro %}

{% macro default__json_kind(value) -%}
    json_type({{ value }})
{%- endmacro %}

{#- On DuckDB a value from `json_object_fields` is JSON text as DuckDB's writer prints it
    (no white space; SQL NULL for JSON null), so its first character tells its kind: no
    second parse. -#}
{% macro duckdb__json_kind(value) -%}
    case
        when {{ value }} is null then null
        else case left(cast({{ value }} as varchar), 1)
            when '"' then 'string'
            when '{' then 'object'
            when '[' then 'array'
            when 't' then 'boolean'
            when 'f' then 'boolean'
            when 'n' then 'null'
            else 'number'
        end
    end
{%- endmacro %}

{% macro json_text(value) -%}
    {{ return(adapter.dispatch('json_text')(value)) }}
{%- endmacro %}

{% macro default__json_text(value) -%}
    coalesce(json_value({{ value }}), to_json_string({{ value }}))
{%- endmacro %}

{% macro duckdb__json_text(value) -%}
    {#- A string without escapes is its text between the quotes; only escaped strings are parsed. -#}
    case
        when left(cast({{ value }} as varchar), 1) != '"' then cast({{ value }} as varchar)
        when not contains(cast({{ value }} as varchar), chr(92)) then cast({{ value }} as varchar)[2:-2]
        else {{ value }} ->> '$'
    end
{%- endmacro %}

{% macro json_number(value) -%}
    {{ return(adapter.dispatch('json_number')(value)) }}
{%- endmacro %}

{% macro default__json_number(value) -%}
    safe.float64({{ value }})
{%- endmacro %}

{% macro duckdb__json_number(value) -%}
    {#- Only a bare JSON number casts: strings keep their quotes, true/false/objects do not cast. -#}
    try_cast(cast({{ value }} as varchar) as double)
{%- endmacro %}

{% macro json_boolean(value) -%}
    {{ return(adapter.dispatch('json_boolean')(value)) }}
{%- endmacro %}

{% macro default__json_boolean(value) -%}
    safe.bool({{ value }})
{%- endmacro %}

{% macro duckdb__json_boolean(value) -%}
    case cast({{ value }} as varchar) when 'true' then true when 'false' then false end
{%- endmacro %}
