{#- A row rule (across columns if needed); the rows breaking it are returned. A NULL result
    breaks the rule: write `x is null or ...` where NULL is fine. -#}
{% test expression_is_true(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
