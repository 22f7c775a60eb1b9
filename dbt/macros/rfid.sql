{#- The kind of an RFID zone (shelf, fitting_room, checkout, other), from the name patterns in
    the project vars, so a store that names its zones differently only changes a var. -#}
{% macro rfid_zone_kind(zone) -%}
    case
    {%- for kind, pattern in var('rfid_zone_patterns').items() %}
        when {{ zone }} like '{{ pattern }}' then '{{ kind }}'
    {%- endfor %}
        else 'other'
    end
{%- endmacro %}

{#- Longest silence (seconds) between two reads of one visit, for a zone kind. -#}
{% macro rfid_visit_gap_seconds(zone_kind) -%}
    {%- set gaps = var('rfid_visit_gap_seconds') -%}
    case {{ zone_kind }}
    {%- for kind, seconds in gaps.items() if kind != 'other' %}
        when '{{ kind }}' then {{ seconds }}
    {%- endfor %}
        else {{ gaps['other'] }}
    end
{%- endmacro %}
