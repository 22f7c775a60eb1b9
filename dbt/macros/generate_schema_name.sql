{#- Models land in the schema their folder names (staging, intermediate, marts, features), not in
    dbt's default "<target schema>_<custom schema>": BI users and the other teams rely on the
    plain names. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ (custom_schema_name or target.schema) | trim }}
{%- endmacro %}
