{#- IP addresses as text: version, sortable key, country lookup against the ip_country_ranges seed.

    The key of an address is the lowercase hex of its integer value, zero-padded to 8 characters
    for IPv4 and 32 for IPv6 (ingest/warehouse/geoip.py writes the seed's start_key/end_key the same way).
    A fixed-width hex string because:
    - within one version, comparing two keys as text gives the same order as comparing the numbers,
      so a range lookup is a plain `between` (or an ASOF join) on text;
    - no common SQL integer holds 128 bits (BigQuery INT64, and DuckDB's HUGEINT is not portable),
      while BigQuery gives the same text for free: to_hex(net.safe_ip_from_string(ip));
    - the width tells the version apart, and the seed stays a readable CSV.
    The key is never compared across versions: IPv4 and IPv6 ranges are joined on ip_version too.
    An IPv4-mapped address written as IPv6 (`::ffff:192.0.2.1`) is an IPv6 key, as in Python and
    BigQuery; the seed holds IPv4 space as IPv4 ranges, so such text finds no country. -#}

{#- A dotted-quad IPv4 address as Python's ipaddress reads it: four decimal octets 0-255,
    no leading zeros (`01.2.3.4` is ambiguous, octal to some parsers, so it is not an address). -#}
{% macro ipv4_pattern() -%}
    {{- return("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])([.](25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}") -}}
{%- endmacro %}

{#- The key of an IP address given as text; NULL when the text is not exactly one address
    (no surrounding spaces, no prefix length, no zone id such as `%eth0`). -#}
{% macro ip_key(expr) -%}
    {{ return(adapter.dispatch('ip_key')(expr)) }}
{%- endmacro %}

{% macro default__ip_key(expr) -%}
    to_hex(net.safe_ip_from_string({{ expr }}))
{%- endmacro %}

{% macro duckdb__ip_key(expr) -%}
    {#- DuckDB has no IP type without the inet extension, so the address is parsed with string and
        list functions. `list_transform([value], lambda name: ...)[1]` names a value once where an
        expression would otherwise repeat it (SQL expressions have no `let`).
        IPv6: an IPv4 tail (`::ffff:192.0.2.1`) becomes two hextets; the text is then checked the way
        Python's ipaddress checks it (1-4 hex digits a group, 3 to 9 colon-separated parts, one `::`
        at most which stands for at least one group, a lone `:` only as part of `::`, exactly 8
        groups without `::`); `::` is expanded to the missing zero groups and each group padded. -#}
    {%- set groups -%}
        len(list_filter(string_split(hex_text, ':'), lambda hextet: hextet != ''))
    {%- endset -%}
    {#- IPv4 first and without lambdas (most traffic; half the time of the list functions). -#}
    case
        when regexp_full_match(cast({{ expr }} as varchar), '{{ ipv4_pattern() }}')
            then printf(
                '%02x%02x%02x%02x',
                {%- for octet in range(1, 5) %}
                cast(split_part(cast({{ expr }} as varchar), '.', {{ octet }}) as integer){{ ',' if not loop.last }}
                {%- endfor %}
            )
        else list_transform([cast({{ expr }} as varchar)], lambda ip_text: list_transform([lower(case
            when regexp_full_match(ip_text, '.*:{{ ipv4_pattern() }}')
                then regexp_extract(ip_text, '^.*:') || regexp_replace(array_to_string(list_transform(
                    string_split(regexp_extract(ip_text, '[^:]*$'), '.'),
                    lambda octet: printf('%02x', cast(octet as integer))
                ), ''), '^(.{4})', '\1:')
            else ip_text
        end)], lambda hex_text: case
            when regexp_full_match(hex_text, '[0-9a-f]{0,4}(:[0-9a-f]{0,4}){2,8}')
                and not contains(hex_text, ':::')
                and length(hex_text) - length(replace(hex_text, '::', '')) <= 2
                and not regexp_matches(hex_text, '^:[^:]|[^:]:$')
                and case when contains(hex_text, '::') then {{ groups }} <= 7 else {{ groups }} = 8 end
                then array_to_string(list_transform(
                    string_split(trim(replace(hex_text, '::', ':' || repeat('0:', 8 - {{ groups }})), ':'), ':'),
                    lambda hextet: lpad(hextet, 4, '0')
                ), '')
        end)[1])[1]
    end
{%- endmacro %}

{#- 4, 6, or NULL when the text is not an IP address. One definition serves every adapter:
    the version is the width of the key (8 or 32 hex characters). -#}
{% macro ip_version(expr) -%}
    {{ return(adapter.dispatch('ip_version')(expr)) }}
{%- endmacro %}

{% macro default__ip_version(expr) -%}
    case length({{ ip_key(expr) }}) when 8 then 4 when 32 then 6 end
{%- endmacro %}

{#- A select of one row per distinct non-null IP of `ips_relation_sql` (a relation, or a select
    statement, which is wrapped in parentheses) with its country:
        ip_address  the text of `ip_column`
        ip_country  country_code of the range of `ranges_relation` (the ip_country_ranges seed)
                    holding the address; NULL when no range holds it or the text is not an address.
    The ranges never overlap (ingest/warehouse/geoip.py refuses overlaps), so at most one range matches. -#}
{% macro ip_country_lookup(ips_relation_sql, ip_column, ranges_relation) -%}
    {{ return(adapter.dispatch('ip_country_lookup')(ips_relation_sql, ip_column, ranges_relation)) }}
{%- endmacro %}

{% macro ip_country_lookup_ips(ips_relation_sql, ip_column) -%}
    {%- set source_sql = ips_relation_sql | string | trim -%}
    {%- if source_sql.lower().startswith('select') or source_sql.lower().startswith('with') -%}
        {%- set source_sql = '(' ~ source_sql ~ ')' -%}
    {%- endif -%}
    (
        select
            ip_address,
            ip_key,
            case length(ip_key) when 8 then 4 when 32 then 6 end as ip_version
        from (
            select
                ip_address,
                {{ ip_key('ip_address') }} as ip_key
            from (
                select distinct {{ ip_column }} as ip_address
                from {{ source_sql }} as ip_source
                where {{ ip_column }} is not null
            ) as distinct_ips
        ) as keyed_ips
    )
{%- endmacro %}

{% macro default__ip_country_lookup(ips_relation_sql, ip_column, ranges_relation) -%}
    select
        ips.ip_address,
        ranges.country_code as ip_country
    from {{ ip_country_lookup_ips(ips_relation_sql, ip_column) }} as ips
    left join {{ ranges_relation }} as ranges
        on
            ips.ip_version = ranges.ip_version
            and ips.ip_key between ranges.start_key and ranges.end_key
{%- endmacro %}

{% macro duckdb__ip_country_lookup(ips_relation_sql, ip_column, ranges_relation) -%}
    {#- The ASOF join picks, per address, the range with the greatest start_key <= key (one sorted
        merge instead of comparing every address with every range); the address may still lie past
        that range's end, in the unassigned space before the next range. -#}
    select
        ips.ip_address,
        case when ips.ip_key <= ranges.end_key then ranges.country_code end as ip_country
    from {{ ip_country_lookup_ips(ips_relation_sql, ip_column) }} as ips
    asof left join {{ ranges_relation }} as ranges
        on
            ips.ip_version = ranges.ip_version
            and ips.ip_key >= ranges.start_key
{%- endmacro %}
