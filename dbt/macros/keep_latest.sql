{#- Raw tables keep every delivery of a row; staging keeps one version of each key: the one
    loaded last (ties broken by file, then line, so the choice never depends on scan order). -#}
{% macro keep_latest(key_columns) -%}
    qualify row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by loaded_at desc, source_sha256 desc, source_line desc
    ) = 1
{%- endmacro %}

{#- The lineage columns every staging model keeps: which file and line a row came from, and
    when it was loaded (the incremental watermark downstream). -#}
{% macro lineage_columns() -%}
    loaded_at,
    source_sha256,
    source_line
{%- endmacro %}
