{#- The columns of a counting period, the same for both door-count feeds (door sensors in
    raw.camera_counts, video in raw.video_counts), so the two stack in int_camera_counts. -#}
{% macro count_period_columns() -%}
    upper(trim(store_id)) as store_id,
    trim(camera_id) as camera_id,
    period_start,
    period_end,
    local_date,
    local_hour,
    epoch(period_end - period_start) / 60.0 as period_minutes
{%- endmacro %}
