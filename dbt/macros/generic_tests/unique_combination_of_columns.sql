{#- No two rows share the same values in `combination_of_columns` (the grain of a table). NULLs
    count as a value, so two rows with a NULL in the same place and equal elsewhere collide. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
select {{ combination_of_columns | join(', ') }}, count(*) as rows_with_this_key
from {{ model }}
group by all
having count(*) > 1
{% endtest %}
