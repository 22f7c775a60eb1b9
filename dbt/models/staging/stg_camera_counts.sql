-- Camera counts, one row per camera and period: a recount of the same period delivered later
-- replaces the earlier count.
select
    upper(trim(store_id)) as store_id,
    trim(camera_id) as camera_id,
    period_start,
    period_end,
    local_date,
    local_hour,
    epoch(period_end - period_start) / 60.0 as period_minutes,
    entries,
    exits,
    {{ lineage_columns() }}
from {{ source('raw', 'camera_counts') }}
{{ keep_latest(['local_date', 'upper(trim(store_id))', 'trim(camera_id)', 'period_start',
                'period_end']) }}
