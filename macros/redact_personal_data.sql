{#- Personal data outside the raw layer (events.md, Personal data).

    A record's own `student_id` and `context.ip` (each when it is text of at least 4
    non-blank characters) must not appear in any value that leaves the raw schema: where
    one occurs inside another value it is replaced by `<redacted>`. Metadata keys that name
    personal data are dropped at any depth, and rejected records keep a structural summary
    (`record_shape`) instead of their text.

    Speed: every raw line is checked once, cheaply (`raw_line_needs_redaction`); only the
    rare lines that hold an id twice, or any JSON escape, pay for the per-field replacements,
    and only metadata that holds an id or a personal key is rebuilt. -#}

{% macro redacted_placeholder() -%}
    '<redacted>'
{%- endmacro %}

{#- An id is redacted when it has at least 4 characters and is not blank (events.md). -#}
{% macro redaction_target_text(text) -%}
    case when length({{ text }}) >= 4 and not {{ is_blank(text) }} then {{ text }} end
{%- endmacro %}

{#- `text` with every occurrence of `student_id` and `ip` (texts, either may be NULL)
    replaced by `<redacted>`; unchanged (and not copied) when neither occurs. -#}
{% macro redact_text(text, student_id, ip) -%}
    case
        when strpos({{ text }}, {{ student_id }}) > 0 or strpos({{ text }}, {{ ip }}) > 0
            then {{ replace_ids(text, student_id, ip) }}
        else {{ text }}
    end
{%- endmacro %}

{#- redact_text with the record's own ids taken from the columns student_id and ip_address of
    stg_raw__events (alias `rows`). -#}
{% macro redact_own_ids(text, rows) -%}
    {{ redact_text(text, redaction_target_text(rows ~ '.student_id'), redaction_target_text(rows ~ '.ip_address')) }}
{%- endmacro %}

{#- A text column of stg_raw__events (alias `rows`) as it may leave raw: redacted when the
    guard of staging (needs_redaction) says it may hold the record's own ids. -#}
{% macro redacted_column(column, rows) -%}
    case
        when {{ rows }}.needs_redaction
            then {{ redact_own_ids(rows ~ '.' ~ column, rows) }}
        else {{ rows }}.{{ column }}
    end
{%- endmacro %}

{#- The replacement itself, unguarded; an empty needle (a NULL id) replaces nothing. -#}
{% macro replace_ids(text, student_id, ip) -%}
    replace(
        replace({{ text }}, coalesce({{ student_id }}, ''), {{ redacted_placeholder() }}),
        coalesce({{ ip }}, ''), {{ redacted_placeholder() }}
    )
{%- endmacro %}

{#- A redacted key must stay a key: `<redacted>` alone would make `s-1-a` (of student s-1) and
    `s-2-a` (of student s-2) the same `<redacted>-a`. A key that holds an id is redacted and
    gets `~` and 16 hex characters of a salted SHA-256 of the raw key (`digest`, an
    expression; see key_digest), so distinct raw keys stay distinct and equal ones equal,
    and nobody without the salt can test a guessed id against the suffix. The suffix is
    redacted too, in the rare case it happens to hold an id made of hex digits. -#}
{% macro redact_key(text, student_id, ip, digest) -%}
    case
        when strpos({{ text }}, {{ student_id }}) > 0 or strpos({{ text }}, {{ ip }}) > 0
            then concat({{ replace_ids(text, student_id, ip) }}, '~', {{ replace_ids(digest, student_id, ip) }})
        else {{ text }}
    end
{%- endmacro %}

{#- 16 hex characters of the salted hash of metrics.md (the salt is the pseudonymization
    secret), domain-separated from student hashes by a prefix. -#}
{% macro key_digest(text) -%}
    left({{ student_hash("concat('redacted-key:', " ~ text ~ ")") }}, 16)
{%- endmacro %}

{#- Keys of metadata and context that name personal data: case-insensitive, with `-`, `_`
    or nothing between the words (`student_id`, `Student-ID`, `studentId`, `e-mail`). -#}
{% macro personal_key_pattern() -%}
    {{- return('student[-_]?id|user[-_]?id|user[-_]?name|e[-_]?mail|ip|ip[-_]?address|name|first[-_]?name|last[-_]?name|phone|address|birth[-_]?date') -}}
{%- endmacro %}

{% macro is_personal_key(key) -%}
    {{ regex_full_match('lower(' ~ key ~ ')', personal_key_pattern()) }}
{%- endmacro %}

{#- True when JSON text (as the engine writes it: no white space) has a key that names personal
    data somewhere: a key is the only string followed by `:`. -#}
{% macro has_personal_key(json_text_expr) -%}
    {{ return(adapter.dispatch('has_personal_key')(json_text_expr)) }}
{%- endmacro %}

{% macro default__has_personal_key(json_text_expr) -%}
    regexp_contains({{ json_text_expr }}, r'(?i)"({{ personal_key_pattern() }})":')
{%- endmacro %}

{% macro duckdb__has_personal_key(json_text_expr) -%}
    regexp_matches({{ json_text_expr }}, '"({{ personal_key_pattern() }})":', 'i')
{%- endmacro %}

{#- The guard of the fast path, on a raw line: does any field other than student_id and
    context.ip possibly hold one of them? Without escapes a JSON line shows every text as
    it is, and each id occurs once, in its own field; so a field needs redaction only when
    an id occurs a second time, or not at all as written (a number written differently),
    or the line has an escape (`\u005f`, `\/`) that could hide one. -#}
{% macro raw_line_needs_redaction(raw_line, student_id, ip) -%}
    (
        strpos({{ raw_line }}, {{ backslash() }}) > 0
        or not {{ occurs_once(raw_line, student_id) }}
        or not {{ occurs_once(raw_line, ip) }}
    )
{%- endmacro %}

{% macro occurs_once(text, part) -%}
    coalesce(
        strpos({{ text }}, {{ part }}) > 0
        and strpos(substr({{ text }}, strpos({{ text }}, {{ part }}) + 1), {{ part }}) = 0,
        true
    )
{%- endmacro %}

{% macro backslash() -%}
    {{ return(adapter.dispatch('backslash')()) }}
{%- endmacro %}

{% macro default__backslash() -%}
    '\\'
{%- endmacro %}

{% macro duckdb__backslash() -%}
    chr(92)
{%- endmacro %}

{#- True when a JSON value may hold the record's own ids (`may_hold_ids`: a cheaper test known
    to be true whenever it does, raw_line_needs_redaction, so most rows skip the two searches)
    or a key that names personal data. Never NULL (an absent id makes a search NULL). -#}
{% macro json_needs_sanitizing(value, student_id, ip, may_hold_ids='true') -%}
    coalesce(
        (
            {{ may_hold_ids }}
            and (strpos({{ json_as_text(value) }}, {{ student_id }}) > 0 or strpos({{ json_as_text(value) }}, {{ ip }}) > 0)
        )
        or {{ has_personal_key(json_as_text(value)) }},
        false
    )
{%- endmacro %}

{% macro json_as_text(value) -%}
    {{ return(adapter.dispatch('json_as_text')(value)) }}
{%- endmacro %}

{% macro default__json_as_text(value) -%}
    to_json_string({{ value }})
{%- endmacro %}

{% macro duckdb__json_as_text(value) -%}
    cast({{ value }} as varchar)
{%- endmacro %}

{% macro parse_json_text(text) -%}
    {{ return(adapter.dispatch('parse_json_text')(text)) }}
{%- endmacro %}

{% macro default__parse_json_text(text) -%}
    parse_json({{ text }})
{%- endmacro %}

{% macro duckdb__parse_json_text(text) -%}
    cast({{ text }} as json)
{%- endmacro %}

{#- A select of (source_file, line_number, `json_column`) for the rows of CTE `rows` (which has
    source_file, line_number, `json_column` and the record's ids to redact, `student_id` and
    `ip`): the JSON value without personal data, at any depth. Keys that name personal data
    are dropped with their values; the ids inside strings and keys become `<redacted>`; a
    number or boolean whose text holds an id becomes the string "<redacted>". Anything else
    is kept as it is. Meant for the few rows that need it (json_needs_sanitizing). -#}
{% macro redacted_json_select(rows, json_column, student_id, ip) -%}
    {{ return(adapter.dispatch('redacted_json_select')(rows, json_column, student_id, ip)) }}
{%- endmacro %}

{#- DuckDB: json_tree lists every node (its parent, key, type and value). Each node gets its
    text in the new value: a leaf its value (redacted when it holds an id), an object or array
    its kept members, each a placeholder for the member's own text (a member whose key names
    personal data is left out, a key that holds an id is redacted). Then a recursive CTE
    starts from the root's placeholder and replaces one node's placeholder by its text per
    step, in document order (json_tree numbers a node before its descendants), which
    assembles the value top-down. Flat SQL whatever the depth, string functions only (DuckDB
    1.5 has no json_set or json_remove). The placeholders are control characters, which a
    JSON text never holds unescaped. Should anything personal remain (a key repeated in one
    object), the whole value becomes "<redacted>". -#}
{% macro duckdb__redacted_json_select(rows, json_column, student_id, ip) -%}
    {%- set value_text -%}
        case when json_nodes.type = 'VARCHAR' then json_nodes.atom ->> '$' else cast(json_nodes.atom as varchar) end
    {%- endset -%}
    {%- set value_holds_id -%}
        coalesce(strpos({{ value_text }}, json_rows.{{ student_id }}) > 0 or strpos({{ value_text }}, json_rows.{{ ip }}) > 0, false)
    {%- endset -%}
    with recursive node_facts as (
        select
            json_rows.source_file,
            json_rows.line_number,
            json_nodes.id as node_id,
            json_nodes.parent as parent_id,
            json_nodes.type as node_type,
            json_nodes.parent is not null
            and json_nodes.fullkey = concat(json_nodes.path, '[', json_nodes.key, ']') as is_element,
            json_nodes.parent is not null
            and json_nodes.fullkey != concat(json_nodes.path, '[', json_nodes.key, ']')
            and {{ is_personal_key('json_nodes.key') }} as is_dropped,
            cast(to_json({{ replace_ids('json_nodes.key', 'json_rows.' ~ student_id, 'json_rows.' ~ ip) }}) as varchar)
                as key_json,
            case
                when json_nodes.type in ('OBJECT', 'ARRAY') then null
                when not {{ value_holds_id }} then cast(json_nodes.value as varchar)
                when json_nodes.type = 'VARCHAR'
                    then cast(to_json({{ replace_ids(value_text, 'json_rows.' ~ student_id, 'json_rows.' ~ ip) }}) as varchar)
                else '"<redacted>"'
            end as leaf_json
        from {{ rows }} as json_rows
        cross join json_tree(json_rows.{{ json_column }}) as json_nodes
    ),

    member_lists as (
        select
            source_file,
            line_number,
            parent_id as node_id,
            string_agg(
                case
                    when is_element then {{ json_node_placeholder('node_id') }}
                    else concat(key_json, ':', {{ json_node_placeholder('node_id') }})
                end,
                ',' order by node_id
            ) as members
        from node_facts
        where parent_id is not null and not is_dropped
        group by source_file, line_number, parent_id
    ),

    node_texts as (
        select
            node_facts.source_file,
            node_facts.line_number,
            node_facts.node_id,
            node_facts.parent_id,
            case
                when node_facts.node_type = 'OBJECT' then concat('{', coalesce(member_lists.members, ''), '}')
                when node_facts.node_type = 'ARRAY' then concat('[', coalesce(member_lists.members, ''), ']')
                else node_facts.leaf_json
            end as node_text,
            row_number() over (
                partition by node_facts.source_file, node_facts.line_number order by node_facts.node_id
            ) as step_number
        from node_facts
        left join member_lists
            on
                node_facts.source_file = member_lists.source_file
                and node_facts.line_number = member_lists.line_number
                and node_facts.node_id = member_lists.node_id
    ),

    assembly as (
        select
            source_file,
            line_number,
            0 as step,
            {{ json_node_placeholder('node_id') }} as json_text
        from node_texts
        where parent_id is null
        union all
        select
            assembly.source_file,
            assembly.line_number,
            assembly.step + 1 as step,
            replace(assembly.json_text, {{ json_node_placeholder('node_texts.node_id') }}, node_texts.node_text)
                as json_text
        from assembly
        inner join node_texts
            on
                assembly.source_file = node_texts.source_file
                and assembly.line_number = node_texts.line_number
                and assembly.step + 1 = node_texts.step_number
    ),

    rebuilt as (
        select
            source_file,
            line_number,
            cast(arg_max(json_text, step) as json) as json_value
        from assembly
        group by source_file, line_number
    )

    select
        rebuilt.source_file,
        rebuilt.line_number,
        case
            when {{ json_needs_sanitizing('rebuilt.json_value', 'json_rows.' ~ student_id, 'json_rows.' ~ ip) }}
                then cast('"<redacted>"' as json)
            else rebuilt.json_value
        end as {{ json_column }}
    from rebuilt
    inner join {{ rows }} as json_rows
        on
            rebuilt.source_file = json_rows.source_file
            and rebuilt.line_number = json_rows.line_number
{%- endmacro %}

{#- Where a node's text goes while the value is assembled (duckdb__redacted_json_select). -#}
{% macro json_node_placeholder(node_id) -%}
    concat(chr(1), cast({{ node_id }} as varchar), chr(2))
{%- endmacro %}

{#- BigQuery: the walk unrolled to project_var('redaction_max_depth') levels of nesting, with
    correlated subqueries over JSON_KEYS / JSON_QUERY_ARRAY; an object or array nested deeper
    that still holds something personal becomes "<redacted>" whole. -#}
{% macro default__redacted_json_select(rows, json_column, student_id, ip) -%}
    select
        json_rows.source_file,
        json_rows.line_number,
        parse_json({{ bigquery_sanitized_json('json_rows.' ~ json_column, 'json_rows.' ~ student_id, 'json_rows.' ~ ip, 0) }})
            as {{ json_column }}
    from {{ rows }} as json_rows
{%- endmacro %}

{% macro bigquery_sanitized_json(value, student_id, ip, depth) -%}
    {%- set key = 'json_key_' ~ depth -%}
    {%- set element = 'json_element_' ~ depth -%}
    {%- set position = 'json_position_' ~ depth -%}
    case
        when {{ value }} is null then null
        when not {{ json_needs_sanitizing(value, student_id, ip) }} then to_json_string({{ value }})
        when json_type({{ value }}) = 'string'
            then to_json_string({{ redact_text('string(' ~ value ~ ')', student_id, ip) }})
        {%- if depth < project_var('redaction_max_depth') %}
        when json_type({{ value }}) = 'object'
            then concat('{', coalesce((
                select string_agg(
                    concat(
                        to_json_string({{ redact_text(key, student_id, ip) }}), ':',
                        {{ bigquery_sanitized_json(value ~ '[' ~ key ~ ']', student_id, ip, depth + 1) }}
                    ),
                    ',' order by {{ position }}
                )
                from unnest(json_keys({{ value }}, 1)) as {{ key }} with offset as {{ position }}
                where not {{ is_personal_key(key) }}
            ), ''), '}')
        when json_type({{ value }}) = 'array'
            then concat('[', coalesce((
                select string_agg(
                    {{ bigquery_sanitized_json(element, student_id, ip, depth + 1) }},
                    ',' order by {{ position }}
                )
                from unnest(json_query_array({{ value }})) as {{ element }} with offset as {{ position }}
            ), ''), ']')
        {%- endif %}
        else '"<redacted>"'
    end
{%- endmacro %}

{#- A select of (source_file, line_number, record_shape) for the rows of CTE `lines`
    (source_file, line_number, raw_line, `kind` as raw_line_kind or 'object', and the ids to
    redact, `student_id` and `ip`): the structural summary of a rejected record
    (silver.events_rejected.record_shape), JSON: {"kind": ..., "length": <characters>}, and
    for an object also "fields": every key path outside arrays (`metadata.scroll_depth`)
    with the JSON kind of its value (object, array, string, number, boolean, null). Paths
    that hold the record's own ids are redacted; no value is ever copied. -#}
{% macro record_shape_select(lines) -%}
    {{ return(adapter.dispatch('record_shape_select')(lines)) }}
{%- endmacro %}

{% macro duckdb__record_shape_select(lines) -%}
    select
        shaped_lines.source_file,
        shaped_lines.line_number,
        cast(concat(
            '{"kind":"', shaped_lines.kind, '","length":', cast(length(shaped_lines.raw_line) as varchar),
            case when shaped_lines.kind = 'object' then concat(',"fields":{', coalesce(line_fields.fields, ''), '}') end,
            '}'
        ) as json) as record_shape
    from {{ lines }} as shaped_lines
    left join (
        select
            object_lines.source_file,
            object_lines.line_number,
            string_agg(
                concat(
                    cast(to_json({{ redact_text('substr(json_nodes.fullkey, 3)', 'object_lines.student_id', 'object_lines.ip') }}) as varchar),
                    ':"',
                    case json_nodes.type
                        when 'OBJECT' then 'object'
                        when 'ARRAY' then 'array'
                        when 'VARCHAR' then 'string'
                        when 'BOOLEAN' then 'boolean'
                        when 'NULL' then 'null'
                        else 'number'
                    end,
                    '"'
                ),
                ',' order by json_nodes.id
            ) as fields
        from (select * from {{ lines }} where kind = 'object') as object_lines
        cross join json_tree(object_lines.raw_line) as json_nodes
        where
            json_nodes.key is not null
            and not regexp_matches(json_nodes.fullkey, '\[[0-9]+\]')
        group by object_lines.source_file, object_lines.line_number
    ) as line_fields
        on
            shaped_lines.source_file = line_fields.source_file
            and shaped_lines.line_number = line_fields.line_number
{%- endmacro %}

{#- BigQuery: JSON_KEYS lists the key paths (outside arrays) of an object. -#}
{% macro default__record_shape_select(lines) -%}
    select
        shaped_lines.source_file,
        shaped_lines.line_number,
        parse_json(concat(
            '{"kind":"', shaped_lines.kind, '","length":', cast(length(shaped_lines.raw_line) as string),
            case
                when shaped_lines.kind = 'object' then concat(',"fields":{', coalesce((
                    select string_agg(
                        concat(
                            to_json_string({{ redact_text('shape_key', 'shaped_lines.student_id', 'shaped_lines.ip') }}), ':"',
                            json_type(json_query(parse_json(shaped_lines.raw_line), concat('$.', shape_key))), '"'
                        ),
                        ',' order by shape_key
                    )
                    from unnest(json_keys(parse_json(shaped_lines.raw_line))) as shape_key
                ), ''), '}')
                else ''
            end,
            '}'
        )) as record_shape
    from {{ lines }} as shaped_lines
{%- endmacro %}

{#- The kind of a raw line that is not a JSON object under the contract: the JSON kind when
    it is valid JSON (that does not look like an object), else not_json. -#}
{% macro raw_line_kind(raw_line) -%}
    {{ return(adapter.dispatch('raw_line_kind')(raw_line)) }}
{%- endmacro %}

{% macro default__raw_line_kind(raw_line) -%}
    coalesce(json_type(safe.parse_json({{ raw_line }})), 'not_json')
{%- endmacro %}

{% macro duckdb__raw_line_kind(raw_line) -%}
    case
        when ltrim({{ raw_line }}, concat(' ', chr(9), chr(10), chr(13))) like '{{ "{%" }}' then 'not_json'
        when not json_valid({{ raw_line }}) then 'not_json'
        else case json_type({{ raw_line }})
            when 'ARRAY' then 'array'
            when 'VARCHAR' then 'string'
            when 'BOOLEAN' then 'boolean'
            when 'NULL' then 'null'
            else 'number'
        end
    end
{%- endmacro %}
