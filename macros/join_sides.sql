{#- Hash joins build on the side the SQL names on the right (the small lookup), as written.

    DuckDB 1.5 swaps a join's sides when it estimates the right side is the larger one. Its
    estimate for a join of joins can be wrong by orders of magnitude (int_events__validated:
    423M rows estimated for 96k row fixes), and it then builds its hash table from 10M wide
    records instead (34 s of 78 at 10M events). A model whose every join has its small side
    on the right keeps them as written with `config(pre_hook=keep_join_sides(),
    post_hook=restore_join_sides())`. Other engines: nothing to do. -#}
{% macro keep_join_sides() -%}
    {{ return(adapter.dispatch('keep_join_sides')()) }}
{%- endmacro %}

{% macro default__keep_join_sides() -%}{%- endmacro %}

{% macro duckdb__keep_join_sides() -%}
    set disabled_optimizers = 'build_side_probe_side'
{%- endmacro %}

{% macro restore_join_sides() -%}
    {{ return(adapter.dispatch('restore_join_sides')()) }}
{%- endmacro %}

{% macro default__restore_join_sides() -%}{%- endmacro %}

{% macro duckdb__restore_join_sides() -%}
    reset disabled_optimizers
{%- endmacro %}
